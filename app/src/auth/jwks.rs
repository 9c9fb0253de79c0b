//! The pool's signing keys: fetched from its JWKS, cached, and refreshed
//! when a token names an unknown `kid`, as aws-jwt-verify does it:
//!
//! - A **failed** fetch (no answer, an error status, a body that is not a
//!   JWKS) caches nothing. The next fetch waits out a back-off that starts
//!   at [`JWKS_BACKOFF_FIRST`] and doubles with each failure in a row, up
//!   to [`JWKS_BACKOFF_MAX`], or the source's `Retry-After` when that is
//!   longer (at most [`MAX_RETRY_AFTER`]). Until then a request that needs
//!   a key it does not hold is refused at once with the last error,
//!   without a fetch: an outage costs the endpoint a few fetches, not one
//!   per token, and tokens with random `kid`s cost nothing. The first
//!   request after the back-off fetches, so users see the end of an
//!   outage at most one back-off step after the endpoint does.
//! - Only a fetch that **succeeded** without the `kid` is rate-limited: for
//!   `min_refresh` after it, an unknown `kid` is refused without a fetch, so
//!   a flood of forged `kid`s cannot hammer the endpoint.
//! - Requests that need a fetch while one is in flight wait for that one
//!   and take its result, instead of queueing fetches of their own; a
//!   request whose key is cached never waits.
//! - A set with no usable key is a failed fetch: it never replaces the
//!   keys held, which would refuse every token until the next refresh.
//! - Each key of the set is checked on its own (`kty` `RSA`, `use` `sig`
//!   when present, a modulus of at least [`MIN_RSA_BITS`]); a bad key is
//!   skipped and counted, and never rejects the set. A key's `alg`, when
//!   present, is kept and must match the token's.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

// Tokio's clock, which a test can pause and advance.
use tokio::time::Instant;

use aws_lc_rs::signature::{ParsedPublicKey, RsaPublicKeyComponents, RSA_PKCS1_2048_8192_SHA256};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;

/// Smallest RSA modulus accepted, in bits (NIST SP 800-131A).
pub const MIN_RSA_BITS: usize = 2048;

/// First wait after a failed fetch before the next one.
pub const JWKS_BACKOFF_FIRST: Duration = Duration::from_millis(250);
/// Longest wait between two fetches while they fail.
pub const JWKS_BACKOFF_MAX: Duration = Duration::from_secs(8);
/// Longest `Retry-After` honoured: a longer one would keep refusing tokens
/// long after the endpoint is back.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Where the JWKS document comes from.
#[async_trait::async_trait]
pub trait JwksSource: Send + Sync + std::fmt::Debug {
    /// The JWKS JSON text.
    async fn fetch(&self) -> Result<String, JwksFetchError>;
}

/// Why a fetch of the key set failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
#[non_exhaustive]
pub struct JwksFetchError {
    /// What went wrong, for the log and the client's error.
    pub message: String,
    /// How long the source asked not to be fetched again (an HTTP
    /// `Retry-After`), when it did.
    pub retry_after: Option<Duration>,
    /// The caller's deadline ended the fetch: it says nothing of the
    /// source, so it starts no back-off for the requests that follow.
    pub cut_short: bool,
}

impl JwksFetchError {
    /// A failure for `message`, with no `Retry-After`.
    pub fn new(message: impl Into<String>) -> Self {
        JwksFetchError {
            message: message.into(),
            retry_after: None,
            cut_short: false,
        }
    }

    /// The same, with the source's `Retry-After`.
    pub fn with_retry_after(mut self, retry_after: Option<Duration>) -> Self {
        self.retry_after = retry_after;
        self
    }

    /// The same, ended by the caller's deadline rather than by the source.
    pub fn with_cut_short(mut self, cut_short: bool) -> Self {
        self.cut_short = cut_short;
        self
    }
}

impl From<String> for JwksFetchError {
    fn from(message: String) -> Self {
        JwksFetchError::new(message)
    }
}

impl From<&str> for JwksFetchError {
    fn from(message: &str) -> Self {
        message.to_owned().into()
    }
}

/// The wait after `failures` failed fetches in a row (at least one), the
/// last of which asked for `retry_after`.
fn wait_after(failures: u32, retry_after: Option<Duration>) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    let backoff = JWKS_BACKOFF_FIRST
        .saturating_mul(1 << doublings)
        .min(JWKS_BACKOFF_MAX);
    backoff.max(retry_after.unwrap_or_default().min(MAX_RETRY_AFTER))
}

/// A JWKS held in memory, e.g. the local development issuer's.
#[derive(Debug, Clone)]
pub struct StaticJwks(pub String);

#[async_trait::async_trait]
impl JwksSource for StaticJwks {
    async fn fetch(&self) -> Result<String, JwksFetchError> {
        Ok(self.0.clone())
    }
}

/// A verified-usable key of the set, parsed once when the set is fetched
/// (aws-lc-rs; see `benches/jwt_verify.rs` for why).
#[derive(Clone)]
pub struct SigningKey {
    key: Arc<ParsedPublicKey>,
    bits: usize,
    /// The key's `alg`, when the set names one: a token signed with another
    /// algorithm is refused.
    pub alg: Option<String>,
}

impl SigningKey {
    /// The modulus length in bits.
    pub fn bits(&self) -> usize {
        self.bits
    }

    /// Whether `signature` is this key's RS256 (PKCS#1 v1.5, SHA-256)
    /// signature of `message`.
    pub(crate) fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        self.key.verify_sig(message, signature).is_ok()
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("bits", &self.bits)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct JwkSet {
    keys: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct Jwk {
    kid: String,
    kty: String,
    #[serde(default, rename = "use")]
    key_use: Option<String>,
    #[serde(default)]
    alg: Option<String>,
    n: String,
    e: String,
}

/// A parsed set: its usable keys by `kid`, and how many were skipped.
#[derive(Debug, Default)]
pub(crate) struct Keys {
    pub(crate) keys: HashMap<String, SigningKey>,
    pub(crate) skipped: usize,
}

/// Parses a JWKS document. Only a document that is not a JWKS at all is an
/// error; each unusable key is skipped on its own.
pub(crate) fn parse_jwks(text: &str) -> Result<Keys, String> {
    let set: JwkSet = serde_json::from_str(text).map_err(|e| format!("bad JWKS: {e}"))?;
    let mut parsed = Keys::default();
    for value in set.keys {
        match serde_json::from_value::<Jwk>(value)
            .map_err(|_| "not a JWK")
            .and_then(usable)
        {
            Ok((kid, key)) => {
                parsed.keys.insert(kid, key);
            }
            Err(_) => parsed.skipped += 1,
        }
    }
    Ok(parsed)
}

/// The key, if it is an RSA signing key of an acceptable size.
fn usable(jwk: Jwk) -> Result<(String, SigningKey), &'static str> {
    if jwk.kty != "RSA" {
        return Err("not an RSA key");
    }
    if jwk.key_use.as_deref().is_some_and(|u| u != "sig") {
        return Err("not a signing key");
    }
    let n = URL_SAFE_NO_PAD.decode(&jwk.n).map_err(|_| "bad n")?;
    let e = URL_SAFE_NO_PAD.decode(&jwk.e).map_err(|_| "bad e")?;
    // Big-endian integers without leading zeros, as aws-lc-rs wants them.
    let (n, e) = (without_leading_zeros(&n), without_leading_zeros(&e));
    let bits = bit_length(n);
    if bits < MIN_RSA_BITS {
        return Err("modulus too short");
    }
    let key = RsaPublicKeyComponents { n, e }
        .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
        .map_err(|_| "not an RSA public key")?;
    Ok((
        jwk.kid,
        SigningKey {
            key: Arc::new(key),
            bits,
            alg: jwk.alg,
        },
    ))
}

fn without_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

/// Bits of a big-endian integer with no leading zero bytes.
fn bit_length(bytes: &[u8]) -> usize {
    match bytes.first() {
        Some(&top) => bytes.len() * 8 - top.leading_zeros() as usize,
        None => 0,
    }
}

/// The key cache.
#[derive(Debug)]
pub struct JwksCache {
    source: Box<dyn JwksSource>,
    keys: RwLock<HashMap<String, SigningKey>>,
    /// Held while one fetch runs; see the module docs.
    fetching: tokio::sync::Mutex<FetchState>,
    /// Fetches started.
    attempts: AtomicU64,
    /// Fetches ended; a request that sees it move while it waited for the
    /// lock takes that fetch's result.
    completed: AtomicU64,
    min_refresh: Duration,
    skipped: AtomicU64,
}

#[derive(Debug, Default)]
struct FetchState {
    /// When the last successful fetch ended.
    last_success: Option<Instant>,
    /// Why the last fetch failed, if it did.
    last_error: Option<String>,
    /// Failed fetches in a row.
    failures: u32,
    /// Before this, a failed fetch is not tried again.
    retry_at: Option<Instant>,
}

impl JwksCache {
    /// A cache over `source` that, after a successful fetch, refetches for
    /// an unknown `kid` at most once per `min_refresh`.
    pub fn new(source: impl JwksSource + 'static, min_refresh: Duration) -> Self {
        JwksCache {
            source: Box::new(source),
            keys: RwLock::new(HashMap::new()),
            fetching: tokio::sync::Mutex::new(FetchState::default()),
            attempts: AtomicU64::new(0),
            completed: AtomicU64::new(0),
            min_refresh,
            skipped: AtomicU64::new(0),
        }
    }

    /// How many times the JWKS was fetched (successfully or not).
    pub fn fetches(&self) -> u64 {
        self.attempts.load(Ordering::Relaxed)
    }

    /// How many keys were skipped as unusable, over every fetch.
    pub fn skipped_keys(&self) -> u64 {
        self.skipped.load(Ordering::Relaxed)
    }

    fn cached(&self, kid: &str) -> Option<SigningKey> {
        self.keys
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(kid)
            .cloned()
    }

    /// Fetches the set now, e.g. during init so that the first user does
    /// not wait for it. Returns how many usable keys it holds.
    pub async fn prefetch(&self) -> Result<usize, String> {
        let mut state = self.fetching.lock().await;
        self.fetch(&mut state).await
    }

    /// The key `kid`. `Ok(None)`: no such key, even after a refresh (or a
    /// refresh is not due yet). `Err`: the JWKS could not be fetched.
    pub async fn key(&self, kid: &str) -> Result<Option<SigningKey>, String> {
        if let Some(key) = self.cached(kid) {
            return Ok(Some(key));
        }
        let seen = self.completed.load(Ordering::Acquire);
        let mut state = self.fetching.lock().await;
        if let Some(key) = self.cached(kid) {
            return Ok(Some(key));
        }
        if self.completed.load(Ordering::Acquire) != seen {
            // A fetch ran while this request waited: its result stands.
            return match &state.last_error {
                Some(error) => Err(error.clone()),
                None => Ok(None),
            };
        }
        if state
            .last_success
            .is_some_and(|at| at.elapsed() < self.min_refresh)
        {
            return Ok(None);
        }
        if state.retry_at.is_some_and(|at| Instant::now() < at) {
            // Backing off: the last fetch's error stands until then.
            return Err(state.last_error.clone().unwrap_or_default());
        }
        self.fetch(&mut state).await?;
        Ok(self.cached(kid))
    }

    async fn fetch(&self, state: &mut FetchState) -> Result<usize, String> {
        self.attempts.fetch_add(1, Ordering::Relaxed);
        let (mut retry_after, mut says_nothing) = (None, false);
        let result = match self.source.fetch().await {
            Ok(text) => parse_jwks(&text),
            Err(e) => {
                (retry_after, says_nothing) = (e.retry_after, e.cut_short);
                Err(e.message)
            }
        };
        // A set with no usable key (empty, or every key skipped) would
        // refuse every token: it is a failed fetch, and the keys held stand.
        let result = result.and_then(|parsed| {
            self.skipped
                .fetch_add(parsed.skipped as u64, Ordering::Relaxed);
            if parsed.keys.is_empty() {
                Err(format!(
                    "the JWKS holds no usable key ({} skipped)",
                    parsed.skipped
                ))
            } else {
                Ok(parsed)
            }
        });
        let outcome = match result {
            Ok(parsed) => {
                let count = parsed.keys.len();
                *self.keys.write().unwrap_or_else(|e| e.into_inner()) = parsed.keys;
                state.last_success = Some(Instant::now());
                state.last_error = None;
                state.failures = 0;
                state.retry_at = None;
                Ok(count)
            }
            Err(error) => {
                if !says_nothing {
                    state.failures = state.failures.saturating_add(1);
                    state.retry_at = Some(Instant::now() + wait_after(state.failures, retry_after));
                }
                state.last_error = Some(error.clone());
                Err(error)
            }
        };
        self.completed.fetch_add(1, Ordering::Release);
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::DevIssuer;

    /// The issuer's one key, with its modulus bytes passed through `edit`.
    fn set_with_modulus(edit: impl Fn(Vec<u8>) -> Vec<u8>) -> String {
        let mut set: serde_json::Value =
            serde_json::from_str(&DevIssuer::new().jwks_json()).unwrap();
        let key = &mut set["keys"][0];
        let n = URL_SAFE_NO_PAD.decode(key["n"].as_str().unwrap()).unwrap();
        key["n"] = URL_SAFE_NO_PAD.encode(edit(n)).into();
        set.to_string()
    }

    #[test]
    fn a_modulus_with_a_leading_zero_byte_is_the_same_key() {
        let keys = parse_jwks(&set_with_modulus(|n| [vec![0], n].concat())).unwrap();
        assert_eq!(keys.skipped, 0);
        assert_eq!(keys.keys["perfmon-local-1"].bits(), 2048);
    }

    #[test]
    fn a_short_modulus_is_skipped_by_its_bit_length() {
        // 2047 bits: the top bit cleared.
        let keys = parse_jwks(&set_with_modulus(|mut n| {
            n[0] &= 0x7f;
            n
        }))
        .unwrap();
        assert_eq!((keys.keys.len(), keys.skipped), (0, 1));
    }

    /// Serves each text in turn, then the last one again.
    #[derive(Debug)]
    struct Sets(std::sync::Mutex<Vec<String>>);

    #[async_trait::async_trait]
    impl JwksSource for Sets {
        async fn fetch(&self) -> Result<String, JwksFetchError> {
            let mut sets = self.0.lock().unwrap();
            Ok(if sets.len() > 1 {
                sets.remove(0)
            } else {
                sets[0].clone()
            })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_set_without_a_usable_key_never_replaces_good_keys() {
        let good = DevIssuer::new().jwks_json();
        let unusable = set_with_modulus(|mut n| {
            n[0] &= 0x7f;
            n
        });
        let cache = JwksCache::new(
            Sets(std::sync::Mutex::new(vec![
                good,
                r#"{"keys":[]}"#.to_owned(),
                unusable,
            ])),
            Duration::ZERO,
        );
        assert_eq!(cache.prefetch().await, Ok(1));
        let empty = cache.key("rotated-away").await.unwrap_err();
        assert!(empty.contains("no usable key"), "{empty}");
        tokio::time::sleep(JWKS_BACKOFF_FIRST).await;
        let skipped = cache.key("rotated-away").await.unwrap_err();
        assert!(skipped.contains("1 skipped"), "{skipped}");
        assert!(cache.key("perfmon-local-1").await.unwrap().is_some());
        assert_eq!(cache.fetches(), 3);
    }

    /// Always fails, asking for `Retry-After` when given one.
    #[derive(Debug)]
    struct Down(Option<Duration>);

    #[async_trait::async_trait]
    impl JwksSource for Down {
        async fn fetch(&self) -> Result<String, JwksFetchError> {
            Err(JwksFetchError::new("down").with_retry_after(self.0))
        }
    }

    /// Always cut short by the caller's deadline.
    #[derive(Debug)]
    struct CutShort;

    #[async_trait::async_trait]
    impl JwksSource for CutShort {
        async fn fetch(&self) -> Result<String, JwksFetchError> {
            Err(JwksFetchError::new("timed out").with_cut_short(true))
        }
    }

    #[tokio::test]
    async fn a_fetch_cut_short_by_its_callers_deadline_starts_no_back_off() {
        let cache = JwksCache::new(CutShort, Duration::ZERO);
        for kid in ["a", "b", "c"] {
            assert_eq!(cache.key(kid).await.unwrap_err(), "timed out");
        }
        assert_eq!(cache.fetches(), 3, "each request fetches again");
    }

    /// A tick past each wait (the clock is paused: the sleep advances it).
    async fn wait(d: Duration) {
        tokio::time::sleep(d + Duration::from_millis(5)).await;
    }

    #[tokio::test(start_paused = true)]
    async fn failed_fetches_back_off_doubling_and_nothing_is_fetched_meanwhile() {
        let cache = JwksCache::new(Down(None), Duration::ZERO);
        assert_eq!(cache.key("a").await.unwrap_err(), "down");
        for kid in ["b", "c", "d"] {
            assert_eq!(cache.key(kid).await.unwrap_err(), "down", "{kid}");
        }
        assert_eq!(cache.fetches(), 1, "unknown kids wait out the back-off");
        wait(JWKS_BACKOFF_FIRST).await;
        assert!(cache.key("e").await.is_err());
        assert_eq!(cache.fetches(), 2, "the back-off ended");
        wait(JWKS_BACKOFF_FIRST).await;
        assert!(cache.key("f").await.is_err());
        assert_eq!(cache.fetches(), 2, "the second wait is twice the first");
        wait(JWKS_BACKOFF_FIRST).await;
        assert!(cache.key("g").await.is_err());
        assert_eq!(cache.fetches(), 3);
        // An explicit prefetch is not held back.
        assert!(cache.prefetch().await.is_err());
        assert_eq!(cache.fetches(), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_is_honoured_when_longer_than_the_back_off() {
        let cache = JwksCache::new(Down(Some(JWKS_BACKOFF_FIRST * 3)), Duration::ZERO);
        assert!(cache.key("a").await.is_err());
        wait(JWKS_BACKOFF_FIRST).await;
        assert!(cache.key("b").await.is_err());
        assert_eq!(cache.fetches(), 1, "Retry-After outlasts the back-off");
        wait(JWKS_BACKOFF_FIRST * 2).await;
        assert!(cache.key("c").await.is_err());
        assert_eq!(cache.fetches(), 2);
    }

    #[test]
    fn the_wait_doubles_to_its_cap_and_retry_after_is_bounded() {
        let ms = Duration::from_millis;
        let waits: Vec<_> = (1..=7).map(|n| wait_after(n, None)).collect();
        assert_eq!(
            waits,
            [250, 500, 1000, 2000, 4000, 8000, 8000].map(ms).to_vec()
        );
        assert_eq!(wait_after(u32::MAX, None), JWKS_BACKOFF_MAX);
        assert_eq!(wait_after(1, Some(ms(100))), ms(250));
        assert_eq!(wait_after(1, Some(ms(3000))), ms(3000));
        assert_eq!(
            wait_after(1, Some(Duration::from_secs(86_400))),
            MAX_RETRY_AFTER
        );
    }

    #[test]
    fn bit_length_counts_from_the_top_set_bit() {
        assert_eq!(bit_length(&[]), 0);
        assert_eq!(bit_length(&[1]), 1);
        assert_eq!(bit_length(&[0x80, 0]), 16);
        assert_eq!(without_leading_zeros(&[0, 0, 5]), &[5]);
        assert_eq!(without_leading_zeros(&[0, 0]), &[] as &[u8]);
    }
}
