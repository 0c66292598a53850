//! The command line's progress bar: an [`npvrisk::run::Observer`] drawing on stderr with
//! indicatif, only once a run has lasted about a second, never when stderr is not a terminal or
//! with `--quiet`. A run that passes over its draws more than once (a streamed run) counts each
//! pass against the run's draws: the bar starts again, labelled with the pass.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

pub struct Bar {
    bar: indicatif::ProgressBar,
    started: Mutex<Instant>,
    shown: AtomicBool,
    /// Draws per pass (0: unknown, the bar just counts).
    per_pass: AtomicU64,
    done: AtomicU64,
    /// The pass shown.
    pass: AtomicU64,
}

impl Bar {
    pub fn new() -> Bar {
        let bar = indicatif::ProgressBar::with_draw_target(
            Some(0),
            indicatif::ProgressDrawTarget::hidden(),
        );
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{msg}{bar:40} {pos}/{len} draws ({eta} left)")
        {
            bar.set_style(style);
        }
        Bar {
            bar,
            started: Mutex::new(Instant::now()),
            shown: AtomicBool::new(false),
            per_pass: AtomicU64::new(0),
            done: AtomicU64::new(0),
            pass: AtomicU64::new(1),
        }
    }
}

impl npvrisk::run::Observer for Bar {
    fn start(&self, draws: u64) {
        *self.started.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        self.per_pass.store(draws, Ordering::Relaxed);
        self.done.store(0, Ordering::Relaxed);
        self.pass.store(1, Ordering::Relaxed);
        self.bar.set_message("");
        self.bar.set_length(draws);
        // Back in progress at 0 (a run to a precision starts again with more draws).
        self.bar.reset();
    }

    fn advance(&self, k: u64) {
        use std::io::IsTerminal;
        if !self.shown.load(Ordering::Relaxed)
            && self
                .started
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .elapsed()
                .as_secs_f64()
                > 1.0
            && std::io::stderr().is_terminal()
            && !npvrisk::output::quiet()
            && !self.shown.swap(true, Ordering::Relaxed)
        {
            self.bar
                .set_draw_target(indicatif::ProgressDrawTarget::stderr());
        }
        let per_pass = self.per_pass.load(Ordering::Relaxed);
        if per_pass == 0 {
            self.bar.inc(k);
            return;
        }
        let done = self.done.fetch_add(k, Ordering::Relaxed) + k;
        let (pass, pos) = pass_position(done, per_pass);
        if self.pass.swap(pass, Ordering::Relaxed) != pass {
            self.bar.set_message(format!("pass {pass} "));
            self.bar.reset_eta();
        }
        self.bar.set_position(pos);
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// The pass (from 1) that `done` draws counted over passes of `per_pass` draws have reached, and
/// the draws done in it; a pass just finished shows as full, not as the next pass at 0.
fn pass_position(done: u64, per_pass: u64) -> (u64, u64) {
    if done == 0 {
        return (1, 0);
    }
    let pass = (done - 1) / per_pass + 1;
    (pass, done - (pass - 1) * per_pass)
}

#[cfg(test)]
mod tests {
    use super::pass_position;

    #[test]
    fn a_streamed_run_counts_each_pass_against_its_draws() {
        assert_eq!(pass_position(0, 100), (1, 0));
        assert_eq!(pass_position(99, 100), (1, 99));
        assert_eq!(pass_position(100, 100), (1, 100));
        assert_eq!(pass_position(101, 100), (2, 1));
        assert_eq!(pass_position(200, 100), (2, 100));
        assert_eq!(pass_position(379, 200), (2, 179));
    }
}
