//! Interned strings: names that live for the whole process.

/// Interns operation names and environments: they live for the whole
/// process and are few (catalog + `MAX_UNLISTED_OPERATIONS` per distinct
/// name), so each distinct string is leaked once and every later clone of a
/// span name or attribute value is free.
pub(crate) fn intern(s: &str) -> &'static str {
    static INTERNED: std::sync::Mutex<std::collections::BTreeSet<&'static str>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    let mut interned = INTERNED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(found) = interned.get(s) {
        return found;
    }
    let leaked: &'static str = Box::leak(s.to_owned().into_boxed_str());
    interned.insert(leaked);
    leaked
}
