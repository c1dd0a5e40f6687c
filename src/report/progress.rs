//! The progress bar on stderr (`--progress`): one tick per scenario file or generated case,
//! with the calls and divergences so far.

use indicatif::{ProgressBar, ProgressStyle};

use crate::runner::{EventSink, RunEvent};

/// The bar, drawn once the run has started.
#[derive(Default)]
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl EventSink for Progress {
    fn event(&mut self, event: &RunEvent<'_>) {
        match (event, &self.bar) {
            (RunEvent::RunStarted(start), _) => {
                let bar = ProgressBar::new(start.planned);
                bar.set_style(
                    ProgressStyle::with_template(
                        "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
                self.bar = Some(bar);
            }
            (RunEvent::Shrinking { .. }, Some(bar)) => bar.set_message("shrinking"),
            (RunEvent::CaseFinished { calls, divergences }, Some(bar)) => {
                bar.inc(1);
                bar.set_message(format!("{calls} calls, {divergences} divergences"));
            }
            (RunEvent::RunFinished(_), Some(bar)) => bar.finish_and_clear(),
            _ => {}
        }
    }
}
