//! The allocator's tuning: mimalloc (as datafusion-cli uses) with a shorter purge delay.

/// mimalloc's `mi_option_purge_delay` (its v3 `mi_option_e`; checked by a test against the option's default).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Freed memory goes back to the system after 250 ms instead of mimalloc's 1 s: the write step frees a bucket's
/// sort and Parquet buffers every second or so, and held for 1 s they overlapped the next ones (BENCHMARKS.md).
/// `MIMALLOC_PURGE_DELAY` in the environment still wins.
pub fn tune() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // Safety: called first thing in main, before any other thread exists (the setter is not thread safe).
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 250) };
    }
}

#[cfg(test)]
mod tests {
    /// Option 15 is the purge delay: the one option of mimalloc v3 that defaults to 1000 (ms), or the value of
    /// its environment variable. A renumbered mimalloc fails here instead of setting another option.
    #[test]
    fn the_purge_delay_option_is_the_one_set() {
        let expected = std::env::var("MIMALLOC_PURGE_DELAY").map_or(1000, |value| value.parse().unwrap());
        assert_eq!(unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY) }, expected);
    }
}
