use std::path::PathBuf;

/// Why a catalog could not be loaded. Every variant names the offending
/// field (a JSON path such as `operations[1].thresholds.duration_ms`) and
/// the value found there.
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
    /// unknown value.
    #[error("invalid catalog at `{field}`: {message}")]
    Parse {
        /// JSON path of the field serde stopped at.
        field: String,
        /// serde's description, which quotes the bad value.
        message: String,
    },
    /// The document parses but breaks a rule of the catalog.
    #[error("invalid catalog at `{field}` = {value}: {reason}")]
    Invalid {
        /// JSON path of the offending field.
        field: String,
        /// The offending value, as JSON.
        value: String,
        /// The rule it breaks.
        reason: &'static str,
    },
}

impl CatalogError {
    pub(crate) fn invalid(
        field: impl Into<String>,
        value: impl serde::Serialize,
        reason: &'static str,
    ) -> Self {
        CatalogError::Invalid {
            field: field.into(),
            value: serde_json::to_string(&value).unwrap_or_default(),
            reason,
        }
    }

    /// The JSON path of the offending field, when there is one.
    pub fn field(&self) -> Option<&str> {
        match self {
            CatalogError::Io { .. } => None,
            CatalogError::Parse { field, .. } | CatalogError::Invalid { field, .. } => Some(field),
        }
    }
}
