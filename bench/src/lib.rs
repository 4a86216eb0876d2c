//! What the bench binaries share: the runner behind the `bench` binary,
//! the TLS settings of the TLS scenarios, and reading a process's CPU time.

use std::error::Error;

pub mod runner;
pub mod tls;

/// The runner's results: any error, boxed.
pub(crate) type Res<T> = Result<T, Box<dyn Error>>;

/// A process's CPU time so far (user + system, all threads), in clock
/// ticks, read from `stat`: `/proc/self/stat` or `/proc/PID/stat`.
pub fn cpu_ticks(stat: &str) -> Result<u64, Box<dyn Error>> {
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
    Ok(field(14)? + field(15)?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn this_process_has_used_some_cpu() {
        assert!(super::cpu_ticks("/proc/self/stat").is_ok());
    }
}
