//! The pool's signing keys: fetched from its JWKS, cached, refreshed when a
//! token names an unknown `kid`, with refreshes rate-limited so a flood of
//! forged `kid`s cannot hammer the JWKS endpoint.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rsa::{BigUint, RsaPublicKey};
use serde::Deserialize;

/// Where the JWKS document comes from.
#[async_trait::async_trait]
pub trait JwksSource: Send + Sync + std::fmt::Debug {
    /// The JWKS JSON text.
    async fn fetch(&self) -> Result<String, String>;
}

/// A JWKS held in memory, e.g. the local development issuer's.
#[derive(Debug, Clone)]
pub struct StaticJwks(pub String);

#[async_trait::async_trait]
impl JwksSource for StaticJwks {
    async fn fetch(&self) -> Result<String, String> {
        Ok(self.0.clone())
    }
}

#[derive(Deserialize)]
struct JwkSet {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    kid: String,
    kty: String,
    #[serde(default)]
    n: String,
    #[serde(default)]
    e: String,
}

/// Parses a JWKS document into its RSA keys; other key types are skipped.
pub(crate) fn parse_jwks(text: &str) -> Result<HashMap<String, Arc<RsaPublicKey>>, String> {
    let set: JwkSet = serde_json::from_str(text).map_err(|e| format!("bad JWKS: {e}"))?;
    let mut keys = HashMap::new();
    for jwk in set.keys.into_iter().filter(|k| k.kty == "RSA") {
        let n = URL_SAFE_NO_PAD.decode(&jwk.n).map_err(|_| "bad JWK n")?;
        let e = URL_SAFE_NO_PAD.decode(&jwk.e).map_err(|_| "bad JWK e")?;
        let key = RsaPublicKey::new(BigUint::from_bytes_be(&n), BigUint::from_bytes_be(&e))
            .map_err(|e| format!("bad RSA key {}: {e}", jwk.kid))?;
        keys.insert(jwk.kid, Arc::new(key));
    }
    Ok(keys)
}

/// The key cache.
#[derive(Debug)]
pub struct JwksCache {
    source: Box<dyn JwksSource>,
    keys: RwLock<HashMap<String, Arc<RsaPublicKey>>>,
    /// When the last fetch started; refreshes wait `min_refresh` after it.
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
    min_refresh: Duration,
    fetches: std::sync::atomic::AtomicU64,
}

impl JwksCache {
    /// A cache over `source` that refetches at most once per `min_refresh`.
    pub fn new(source: impl JwksSource + 'static, min_refresh: Duration) -> Self {
        JwksCache {
            source: Box::new(source),
            keys: RwLock::new(HashMap::new()),
            last_fetch: tokio::sync::Mutex::new(None),
            min_refresh,
            fetches: Default::default(),
        }
    }

    /// How many times the JWKS was fetched.
    pub fn fetches(&self) -> u64 {
        self.fetches.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn cached(&self, kid: &str) -> Option<Arc<RsaPublicKey>> {
        self.keys
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(kid)
            .cloned()
    }

    /// The key `kid`, refreshing the cache once if it is unknown and the
    /// last fetch is old enough. `Ok(None)`: no such key. `Err`: the JWKS
    /// could not be fetched and no key is cached.
    pub async fn key(&self, kid: &str) -> Result<Option<Arc<RsaPublicKey>>, String> {
        if let Some(key) = self.cached(kid) {
            return Ok(Some(key));
        }
        let mut last = self.last_fetch.lock().await;
        // Another task may have refreshed while this one waited.
        if let Some(key) = self.cached(kid) {
            return Ok(Some(key));
        }
        if last.is_some_and(|at| at.elapsed() < self.min_refresh) {
            return Ok(None);
        }
        *last = Some(Instant::now());
        self.fetches
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let text = self.source.fetch().await?;
        let keys = parse_jwks(&text)?;
        let found = keys.get(kid).cloned();
        *self.keys.write().unwrap_or_else(|e| e.into_inner()) = keys;
        Ok(found)
    }
}
