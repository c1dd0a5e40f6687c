//! The `opsworkscm-conformance` binary: parses the command line and hands it to the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = opsworkscm_conformance::cli::Cli::parse();
    opsworkscm_conformance::cli::main(cli).into()
}
