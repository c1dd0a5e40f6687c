//! The `opsworkscm-conformance` binary: parses the command line and hands it to the library.

use clap::Parser;

fn main() {
    let cli = opsworkscm_conformance::cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(3);
        }
    };
    let code = runtime.block_on(opsworkscm_conformance::cli::dispatch(cli));
    std::process::exit(code.code());
}
