//! Counts and ranges as a person writes them: `1 test`, `2 tests`,
//! `tests 26–50 of 500`.

/// `n` with the noun in the right number: `1 launch`, `3 launches`.
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Which items of how many an answer shows: `tests 26–50 of 500`, `test 7 of
/// 7`, `tests 1–25` when the total is unknown; `first` counts from 1.
pub fn range(first: u64, shown: u64, total: Option<u64>, one: &str, many: &str) -> String {
    let span = match shown {
        0 => format!("no {many}"),
        1 => format!("{one} {first}"),
        _ => format!("{many} {first}–{}", first + shown - 1),
    };
    match total {
        Some(total) if shown > 0 => format!("{span} of {total}"),
        _ => span,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn singular_plural_and_ranges() {
        assert_eq!(count(1, "launch", "launches"), "1 launch");
        assert_eq!(count(0, "launch", "launches"), "0 launches");
        assert_eq!(
            range(26, 25, Some(500), "test", "tests"),
            "tests 26–50 of 500"
        );
        assert_eq!(range(7, 1, Some(7), "test", "tests"), "test 7 of 7");
        assert_eq!(range(1, 25, None, "test", "tests"), "tests 1–25");
        assert_eq!(range(1, 0, Some(0), "test", "tests"), "no tests");
    }
}
