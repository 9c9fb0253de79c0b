//! Events perfmon knows nothing of: the standard library's types, and
//! [`OtherEvent`] for any type the function cannot implement
//! [`InvocationEvent`] for itself (Rust lets a crate implement a foreign
//! trait only for its own types). Each is an `other` trigger with no
//! attributes and no carrier.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::InvocationEvent;

/// Any event type, read by the Lambda layer as an `other` trigger: for an
/// event type of another crate that does not implement
/// [`InvocationEvent`] (an `aws_lambda_events` type perfmon does not
/// enable, such as a Cognito trigger's). It (de)serializes exactly as `T`.
///
/// ```
/// use perfmon_lambda::lambda::OtherEvent;
/// # type CognitoEvent = serde_json::Map<String, serde_json::Value>;
/// async fn handler(event: lambda_runtime::LambdaEvent<OtherEvent<CognitoEvent>>) {
///     let cognito: &CognitoEvent = &event.payload;
///     # let _ = cognito;
/// }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct OtherEvent<T>(pub T);

impl<T> std::ops::Deref for OtherEvent<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> std::ops::DerefMut for OtherEvent<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T> InvocationEvent for OtherEvent<T> {}

impl InvocationEvent for () {}
impl InvocationEvent for bool {}
impl InvocationEvent for i64 {}
impl InvocationEvent for u64 {}
impl InvocationEvent for f64 {}
impl InvocationEvent for String {}
impl<T> InvocationEvent for Vec<T> {}
impl<T> InvocationEvent for Option<T> {}
impl<K, V> InvocationEvent for HashMap<K, V> {}
impl<K, V> InvocationEvent for BTreeMap<K, V> {}
impl InvocationEvent for serde_json::Map<String, serde_json::Value> {}
