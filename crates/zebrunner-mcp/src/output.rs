//! Standard output for the commands' answers.
//!
//! A reader may stop early (`zebrunner-mcp config schema | head`) and close the pipe; the next
//! write then fails with a broken pipe (Rust ignores `SIGPIPE`). `println!` panics on that; the
//! commands write through [`stdout`] instead, which marks such a failure as [`Closed`], and
//! `main` ends a command stopped by it quietly and successfully: the reader has all it wanted.
//!
//! - [`outln!`]: a line of the answer; `?` on it stops the command when the reader is gone.
//! - [`reportln!`]: a line about work that goes on (a check, a rekey, a running server): a
//!   closed standard output neither stops the work nor changes its verdict.

use std::io::{self, Write};

/// Standard output's reader closed it: nothing more can be shown.
#[derive(Debug)]
pub struct Closed;

impl std::fmt::Display for Closed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("standard output was closed by its reader")
    }
}

impl std::error::Error for Closed {}

/// Standard output, locked, whose broken-pipe errors carry [`Closed`].
pub struct Stdout(io::StdoutLock<'static>);

pub fn stdout() -> Stdout {
    Stdout(io::stdout().lock())
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf).map_err(mark)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush().map_err(mark)
    }
}

fn mark(error: io::Error) -> io::Error {
    if error.kind() == io::ErrorKind::BrokenPipe {
        io::Error::new(io::ErrorKind::BrokenPipe, Closed)
    } else {
        error
    }
}

/// Whether `error` is (or was caused by) a write to a standard output its reader closed; not
/// any other broken pipe (a database or Zebrunner connection), which stays an error.
pub fn closed(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause.is::<Closed>()
            || cause
                .downcast_ref::<io::Error>()
                .and_then(io::Error::get_ref)
                .is_some_and(|inner| inner.is::<Closed>())
    })
}

/// `result` of a write, with a closed standard output as success.
pub fn unless_closed(result: io::Result<()>) -> io::Result<()> {
    match result {
        Err(error) if error.get_ref().is_some_and(|inner| inner.is::<Closed>()) => Ok(()),
        other => other,
    }
}

/// `println!` that returns the write's `io::Result` (a closed standard output is [`Closed`])
/// instead of panicking.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!($crate::output::stdout(), $($arg)*)
    }};
}

/// `print!` as [`outln!`].
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!($crate::output::stdout(), $($arg)*)
    }};
}

/// [`outln!`] for a line about work that goes on: a closed standard output is not an error.
macro_rules! reportln {
    ($($arg:tt)*) => {
        $crate::output::unless_closed($crate::output::outln!($($arg)*))
    };
}

pub(crate) use {out, outln, reportln};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_closed_standard_output_counts_as_closed() {
        let ours = anyhow::Error::from(mark(io::Error::from(io::ErrorKind::BrokenPipe)));
        assert!(closed(&ours));
        assert!(closed(&ours.context("while listing")));
        // Another connection's broken pipe is a real failure.
        let theirs = anyhow::Error::from(io::Error::from(io::ErrorKind::BrokenPipe));
        assert!(!closed(&theirs));
        assert!(!closed(&anyhow::anyhow!("broken pipe")));
        assert!(unless_closed(Err(mark(io::ErrorKind::BrokenPipe.into()))).is_ok());
        assert!(unless_closed(Err(io::ErrorKind::BrokenPipe.into())).is_err());
        assert!(unless_closed(Err(mark(io::ErrorKind::Other.into()))).is_err());
    }
}
