//! A failed AWS SDK call, described in one line for the application's
//! errors (its span, made by perfmon's SDK interceptor, carries the same
//! code and message).

/// A failed AWS call in one line: the service's error code and message,
/// or, when no service answered, the whole chain of causes.
pub(crate) fn describe<E, R>(e: &aws_sdk_dynamodb::error::SdkError<E, R>) -> String
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_dynamodb::error::ProvideErrorMetadata as _;
    match (e.code(), e.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_owned(),
        _ => aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string(),
    }
}
