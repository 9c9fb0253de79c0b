//! Error classes: every error code an operation can end with is either the
//! caller's mistake or the service's failure (DESIGN §6). The class decides
//! how X-Ray draws the failed span: a client error is `error` (orange), or
//! `throttle` for status 429, and never `fault`; a service error is `fault`
//! (red) with a `cause`.
//!
//! Both X-Ray translators (the `opentelemetry-aws` one on the UDP path, the
//! collector's `awsxray` exporter on the ADOT path) read the class from the
//! span's `http.response.status_code`: 4xx is `error`, 429 adds
//! `throttle`, 5xx or no code with status Error is `fault`.

use serde::{Deserialize, Serialize};

/// Status code of a client error the catalog gives none.
pub const DEFAULT_CLIENT_STATUS: u16 = 400;

/// One error code of an operation and its class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorSpec {
    /// The code, as [`ErrorCode::error_code`](crate::ErrorCode::error_code)
    /// returns it: the `ErrorType` dimension value.
    pub code: String,
    /// Whose fault it is.
    pub class: ErrorClass,
    /// The HTTP-like status the span reports: 400–499 for a client error
    /// ([`DEFAULT_CLIENT_STATUS`] when absent; 429 is drawn as `throttle`),
    /// 500–599 or absent for a service error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
}

/// Whose fault an error is. A code the catalog does not declare is a
/// [`Service`](Self::Service) error, so that an unexpected failure is
/// never hidden as the caller's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorClass {
    /// The caller's mistake: a bad token, a malformed request. The span
    /// carries `error.type` and the 4xx status, and no `exception` event.
    Client,
    /// Our or a dependency's failure. The span carries status Error and an
    /// `exception` event with the code as its type.
    Service,
}

impl ErrorSpec {
    /// The status the span reports: the declared one, else
    /// [`DEFAULT_CLIENT_STATUS`] for a client error and none for a service
    /// error.
    pub fn span_status(&self) -> Option<u16> {
        match self.class {
            ErrorClass::Client => Some(self.status.unwrap_or(DEFAULT_CLIENT_STATUS)),
            ErrorClass::Service => self.status,
        }
    }

    /// Why the declared status does not fit the class, if it does not.
    pub(crate) fn status_problem(&self) -> Option<&'static str> {
        match (self.class, self.status) {
            (ErrorClass::Client, Some(s)) if !(400..=499).contains(&s) => {
                Some("a client error's status is 400–499")
            }
            (ErrorClass::Service, Some(s)) if !(500..=599).contains(&s) => {
                Some("a service error's status is 500–599")
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(class: ErrorClass, status: Option<u16>) -> ErrorSpec {
        ErrorSpec {
            code: "X".into(),
            class,
            status,
        }
    }

    #[test]
    fn a_client_error_defaults_to_400_and_a_service_error_to_no_status() {
        assert_eq!(spec(ErrorClass::Client, None).span_status(), Some(400));
        assert_eq!(spec(ErrorClass::Client, Some(429)).span_status(), Some(429));
        assert_eq!(spec(ErrorClass::Service, None).span_status(), None);
        assert_eq!(
            spec(ErrorClass::Service, Some(503)).span_status(),
            Some(503)
        );
    }

    #[test]
    fn a_status_outside_its_class_is_a_problem() {
        assert!(spec(ErrorClass::Client, Some(500))
            .status_problem()
            .is_some());
        assert!(spec(ErrorClass::Service, Some(404))
            .status_problem()
            .is_some());
        assert!(spec(ErrorClass::Client, Some(401))
            .status_problem()
            .is_none());
    }
}
