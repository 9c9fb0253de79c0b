//! Which events and spans are recorded: `AWS_LAMBDA_LOG_LEVEL` when Lambda's
//! advanced logging controls set it, else `RUST_LOG`, else `info`.

use tracing_subscriber::EnvFilter;

use crate::env;

/// The filter of [`init`](super::init), and why a setting was not used.
///
/// A value that does not parse never stops the function: the next source
/// is used, and the problem is returned to be logged once the subscriber is
/// installed.
pub fn env_filter() -> (EnvFilter, Option<crate::env::EnvError>) {
    let lambda_level = env::var(env::AWS_LAMBDA_LOG_LEVEL);
    let rust_log = env::var(env::RUST_LOG);
    filter_from(lambda_level.as_deref(), rust_log.as_deref())
}

/// [`env_filter`] over given values, for tests.
pub(crate) fn filter_from(
    lambda_level: Option<&str>,
    rust_log: Option<&str>,
) -> (EnvFilter, Option<crate::env::EnvError>) {
    let mut problem = None;
    if let Some(level) = lambda_level {
        match lambda_directive(level) {
            Some(directive) => return (EnvFilter::new(directive), None),
            None => {
                problem = Some(crate::env::EnvError {
                    var: env::AWS_LAMBDA_LOG_LEVEL,
                    value: level.to_owned(),
                    expected: "TRACE, DEBUG, INFO, WARN, ERROR or FATAL".to_owned(),
                })
            }
        }
    }
    if let Some(directives) = rust_log {
        match EnvFilter::try_new(directives) {
            Ok(filter) => return (filter, problem),
            Err(e) => {
                problem = problem.or(Some(crate::env::EnvError {
                    var: env::RUST_LOG,
                    value: directives.to_owned(),
                    expected: format!("tracing filter directives ({e})"),
                }))
            }
        }
    }
    (EnvFilter::new(env::RUST_LOG_DEFAULT), problem)
}

/// The `tracing` level of a Lambda log level; `FATAL` has none of its own.
fn lambda_directive(level: &str) -> Option<&'static str> {
    Some(match level.trim().to_ascii_uppercase().as_str() {
        "TRACE" => "trace",
        "DEBUG" => "debug",
        "INFO" => "info",
        "WARN" => "warn",
        "ERROR" | "FATAL" => "error",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::level_filters::LevelFilter;

    fn max(filter: &EnvFilter) -> Option<LevelFilter> {
        filter.max_level_hint()
    }

    #[test]
    fn the_lambda_level_wins_over_rust_log() {
        let (filter, problem) = filter_from(Some("WARN"), Some("debug"));
        assert_eq!(max(&filter), Some(LevelFilter::WARN));
        assert!(problem.is_none());
        let (filter, _) = filter_from(Some("fatal"), None);
        assert_eq!(max(&filter), Some(LevelFilter::ERROR));
    }

    #[test]
    fn rust_log_then_info() {
        let (filter, problem) = filter_from(None, Some("debug"));
        assert_eq!(max(&filter), Some(LevelFilter::DEBUG));
        assert!(problem.is_none());
        let (filter, problem) = filter_from(None, None);
        assert_eq!(max(&filter), Some(LevelFilter::INFO));
        assert!(problem.is_none());
    }

    #[test]
    fn a_bad_value_falls_back_and_is_named() {
        let (filter, problem) = filter_from(Some("LOUD"), Some("debug"));
        assert_eq!(max(&filter), Some(LevelFilter::DEBUG));
        let problem = problem.expect("the bad level is reported");
        assert_eq!(problem.var, "AWS_LAMBDA_LOG_LEVEL");
        assert_eq!(problem.value, "LOUD");

        let (filter, problem) = filter_from(None, Some("=[{"));
        assert_eq!(max(&filter), Some(LevelFilter::INFO));
        assert_eq!(problem.unwrap().var, "RUST_LOG");
    }
}
