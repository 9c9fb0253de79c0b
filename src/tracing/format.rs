//! The log line format: `AWS_LAMBDA_LOG_FORMAT`, which Lambda's advanced
//! logging controls set to `JSON` or `Text`.

use std::str::FromStr;

use crate::env;

/// How log lines are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LogFormat {
    /// One line of text: timestamp, level, request id, message, then the
    /// fields as `key=value`.
    #[default]
    Text,
    /// One JSON object per line, which CloudWatch Logs Insights parses.
    Json,
}

impl LogFormat {
    /// `AWS_LAMBDA_LOG_FORMAT`, else text. Lambda spells the values `JSON`
    /// and `Text`; any case is accepted, and anything else is text.
    pub fn from_env() -> Self {
        env::var(env::AWS_LAMBDA_LOG_FORMAT)
            .and_then(|v| v.parse().ok())
            .unwrap_or_default()
    }
}

impl FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "json" => Ok(LogFormat::Json),
            "text" => Ok(LogFormat::Text),
            _ => Err("JSON or Text".to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambda_spellings_parse() {
        assert_eq!("JSON".parse(), Ok(LogFormat::Json));
        assert_eq!("Text".parse(), Ok(LogFormat::Text));
        assert!("yaml".parse::<LogFormat>().is_err());
    }
}
