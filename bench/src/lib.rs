//! What the bench binaries share: the runner behind the `bench` binary,
//! the TLS settings of the TLS scenarios, the load generators' failure
//! count, and reading a process's CPU time.

use std::error::Error;

pub mod load;
pub mod runner;
pub mod tls;

/// The runner's results: any error, boxed.
pub(crate) type Res<T> = Result<T, Box<dyn Error>>;

/// A process's CPU time so far (user + system, all threads), in clock
/// ticks, read from `stat`: `/proc/self/stat` or `/proc/PID/stat`.
pub fn cpu_ticks(stat: &str) -> Result<u64, Box<dyn Error>> {
    stat_ticks(stat, 14, 15)
}

/// The CPU time of this process's children that have been waited for
/// (user + system), in clock ticks: a load generator's, once it has ended.
pub fn children_cpu_ticks() -> Result<u64, Box<dyn Error>> {
    stat_ticks("/proc/self/stat", 16, 17)
}

/// The sum of two fields of a `stat` file.
fn stat_ticks(stat: &str, user: usize, system: usize) -> Result<u64, Box<dyn Error>> {
    let text = std::fs::read_to_string(stat)?;
    // The command name may hold spaces and parentheses; fields resume
    // after the last `)`, with field 3 (state) first.
    let (_, rest) = text
        .rsplit_once(')')
        .ok_or_else(|| format!("unexpected format of {stat}"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| -> Result<u64, Box<dyn Error>> {
        Ok(fields
            .get(n - 3)
            .ok_or_else(|| format!("short {stat}"))?
            .parse::<u64>()?)
    };
    Ok(field(user)? + field(system)?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn this_process_has_used_some_cpu() {
        assert!(super::cpu_ticks("/proc/self/stat").is_ok());
    }

    #[test]
    fn a_waited_for_child_counts_among_the_children() {
        let before = super::children_cpu_ticks().unwrap_or(u64::MAX);
        // A busy shell, waited for: a few tenths of a second of CPU.
        let status = std::process::Command::new("sh")
            .args(["-c", "i=0; while [ $i -lt 400000 ]; do i=$((i + 1)); done"])
            .status();
        assert!(status.is_ok_and(|s| s.success()));
        let after = super::children_cpu_ticks().unwrap_or(0);
        assert!(after > before, "{before} -> {after}");
    }
}
