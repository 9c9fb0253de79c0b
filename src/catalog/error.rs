use std::path::PathBuf;

/// Why a catalog could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CatalogError {
    /// The file could not be read.
    #[error("cannot read catalog {path}: {source}")]
    Io {
        /// The file that was asked for.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The document is not valid JSON, or a field has the wrong type or an
    /// unknown value. Parsing stops at the first such field.
    #[error("invalid catalog at `{field}`: {message}")]
    Parse {
        /// JSON path of the field serde stopped at.
        field: String,
        /// serde's description, which quotes the bad value.
        message: String,
    },
    /// The document parses but breaks rules of the catalog: every broken
    /// rule is listed.
    #[error("invalid catalog: {}", list(.problems))]
    Invalid {
        /// Every problem found, in document order.
        problems: Vec<Problem>,
    },
}

/// One broken rule: the field (a JSON path such as
/// `operations[1].thresholds.duration_ms`), the value found there, and the
/// rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// JSON path of the offending field.
    pub field: String,
    /// The offending value, as JSON.
    pub value: String,
    /// The rule it breaks.
    pub reason: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}` = {}: {}", self.field, self.value, self.reason)
    }
}

fn list(problems: &[Problem]) -> String {
    match problems {
        [one] => one.to_string(),
        many => many.iter().map(|p| format!("\n  {p}")).collect::<String>(),
    }
}

impl Problem {
    pub(crate) fn new(
        field: impl Into<String>,
        value: impl serde::Serialize,
        reason: impl Into<String>,
    ) -> Self {
        Problem {
            field: field.into(),
            value: serde_json::to_string(&value).unwrap_or_default(),
            reason: reason.into(),
        }
    }
}

impl CatalogError {
    /// The JSON path of the first offending field, when there is one.
    pub fn field(&self) -> Option<&str> {
        match self {
            CatalogError::Io { .. } => None,
            CatalogError::Parse { field, .. } => Some(field),
            CatalogError::Invalid { problems } => problems.first().map(|p| p.field.as_str()),
        }
    }

    /// Every broken rule; empty for read and parse errors.
    pub fn problems(&self) -> &[Problem] {
        match self {
            CatalogError::Invalid { problems } => problems,
            _ => &[],
        }
    }
}
