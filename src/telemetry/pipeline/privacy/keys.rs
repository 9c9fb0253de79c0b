//! What an attribute key's name says about its value (DESIGN §3): a
//! secret (a token, JWT, authorization, password, secret or credential) or
//! personal data (an email address or a user name), by the fragments the
//! key contains, in any case.
//!
//! Every attribute of every recorded span, and every field of a log line,
//! is classified, and the same few keys come back on every span: the
//! classes of recent keys are kept per thread ([`class_of`]), so most keys
//! cost a comparison rather than a scan.

use std::cell::RefCell;

/// Key fragments whose string values are secrets, never exported; the
/// scan finds them through [`fragments_at`], which the tests hold to this
/// list.
#[cfg(test)]
const SECRET_KEYS: &[&str] = &[
    "token",
    "jwt",
    "authorization",
    "password",
    "secret",
    "credential",
];
/// Key fragments that name personal data (as above).
#[cfg(test)]
const PERSONAL_KEYS: &[&str] = &["email", "username", "user_name", "user.name"];

/// What a key's name says about its value.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct KeyClass {
    pub(super) secret: bool,
    pub(super) personal: bool,
}

/// The fragments that start with the (lower-case) letters `a` and `b`, and
/// whether they name secrets: those of `SECRET_KEYS` and `PERSONAL_KEYS`,
/// each under its first two letters (tested). No two fragments share them
/// but the three spellings of a user name.
const fn fragments_at(a: u8, b: u8) -> Option<(&'static [&'static str], bool)> {
    Some(match [a, b] {
        [b't', b'o'] => (&["token"], true),
        [b'j', b'w'] => (&["jwt"], true),
        [b'a', b'u'] => (&["authorization"], true),
        [b'p', b'a'] => (&["password"], true),
        [b's', b'e'] => (&["secret"], true),
        [b'c', b'r'] => (&["credential"], true),
        [b'e', b'm'] => (&["email"], false),
        [b'u', b's'] => (&["username", "user_name", "user.name"], false),
        _ => return None,
    })
}

/// The bytes, in either case, that start a fragment of [`fragments_at`]
/// (derived from it): a table lookup skips the others.
const STARTS_FRAGMENT: [bool; 256] = {
    let mut table = [false; 256];
    let mut a = b'a';
    while a <= b'z' {
        let mut b = b'a';
        while b <= b'z' {
            if fragments_at(a, b).is_some() {
                table[a as usize] = true;
                table[a.to_ascii_uppercase() as usize] = true;
            }
            b += 1;
        }
        a += 1;
    }
    table
};

/// Classifies a key in one pass: a fragment is compared only where the
/// byte and the next one (lower-cased) start it. Fragments start with common
/// letters (`a`, `c`, `e`, `s`, `t`, `u`), so matching on the first letter
/// alone compared one at most bytes of a key. Runs for every attribute of
/// every recorded span.
fn classify(key: &str) -> KeyClass {
    let bytes = key.as_bytes();
    let mut class = KeyClass::default();
    // Every fragment is at least three bytes long.
    for i in 0..bytes.len().saturating_sub(2) {
        if !STARTS_FRAGMENT[bytes[i] as usize] {
            continue;
        }
        let Some((fragments, secret)) = fragments_at(
            bytes[i].to_ascii_lowercase(),
            bytes[i + 1].to_ascii_lowercase(),
        ) else {
            continue;
        };
        let rest = &bytes[i..];
        let hit = fragments
            .iter()
            .any(|f| rest.len() >= f.len() && rest[..f.len()].eq_ignore_ascii_case(f.as_bytes()));
        if hit {
            if secret {
                class.secret = true;
            } else {
                class.personal = true;
            }
        }
    }
    class
}

/// Slots of the per-thread table of recent keys.
const SLOTS: usize = 64;
/// Longer keys are classified every time: they are rare, and their copy
/// would outweigh the scan.
const LONGEST_KEPT: usize = 64;

/// A key kept with its class.
type Kept = Option<(Box<str>, KeyClass)>;

thread_local! {
    /// Recent keys and their classes, each in the slot [`slot`] gives it;
    /// a key that lands in a taken slot replaces the one there.
    static RECENT: RefCell<[Kept; SLOTS]> = const { RefCell::new([const { None }; SLOTS]) };
}

/// `key`'s class: [`classify`]'s, looked up among this thread's recent
/// keys first (the key itself is compared, so a slot shared by two keys
/// costs a scan, never a wrong class).
pub(super) fn class_of(key: &str) -> KeyClass {
    if key.len() > LONGEST_KEPT {
        return classify(key);
    }
    let slot = slot(key.as_bytes());
    let known = RECENT.try_with(|recent| {
        // Not borrowed elsewhere: nothing here calls out while it holds it.
        let mut recent = recent.try_borrow_mut().ok()?;
        let entry = &mut recent[slot];
        if let Some((kept, class)) = entry {
            if **kept == *key {
                return Some(*class);
            }
        }
        let class = classify(key);
        *entry = Some((key.into(), class));
        Some(class)
    });
    // During the thread's teardown: no table, a scan.
    known.ok().flatten().unwrap_or_else(|| classify(key))
}

/// A key's slot, from its length and its first and last eight bytes.
fn slot(key: &[u8]) -> usize {
    let n = key.len();
    let (head, tail) = match (key.first_chunk::<8>(), key.last_chunk::<8>()) {
        (Some(head), Some(tail)) => (u64::from_le_bytes(*head), u64::from_le_bytes(*tail)),
        // Shorter than eight bytes: all of it, once.
        _ => (key.iter().fold(0, |h, &b| h << 8 | u64::from(b)), 0),
    };
    let mixed = (head ^ tail.rotate_left(29) ^ n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (mixed >> (64 - SLOTS.trailing_zeros())) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fragment_is_found_under_its_first_two_letters_and_only_there() {
        for (list, secret) in [(SECRET_KEYS, true), (PERSONAL_KEYS, false)] {
            for fragment in list {
                let start = fragment.as_bytes();
                let (under, is_secret) = fragments_at(start[0], start[1]).unwrap();
                assert!(STARTS_FRAGMENT[start[0] as usize], "{fragment}");
                assert!(STARTS_FRAGMENT[start[0].to_ascii_uppercase() as usize]);
                assert!(under.contains(fragment), "{fragment}");
                assert_eq!(is_secret, secret, "{fragment}");
            }
        }
        let all = SECRET_KEYS.len() + PERSONAL_KEYS.len();
        let listed: usize = (b'a'..=b'z')
            .flat_map(|a| (b'a'..=b'z').filter_map(move |b| fragments_at(a, b)))
            .map(|(f, _)| f.len())
            .sum();
        assert_eq!(listed, all, "no fragment outside the two lists");
        let starts = STARTS_FRAGMENT.iter().filter(|&&s| s).count();
        assert_eq!(starts, 16, "the eight first letters, in both cases");
    }

    #[test]
    fn keys_are_classified_by_fragment_case_insensitively() {
        let secret = KeyClass {
            secret: true,
            personal: false,
        };
        let personal = KeyClass {
            secret: false,
            personal: true,
        };
        let neither = KeyClass::default();
        for (key, class) in [
            ("idToken", secret),
            ("X-Authorization", secret),
            ("db.password", secret),
            ("ClientSecret", secret),
            ("app.jwt", secret),
            ("Email", personal),
            ("cognito:username", personal),
            ("user_name", personal),
            ("app.user.name", personal),
            ("app.connection.id", neither),
            ("app.session.id", neither),
            ("app.correlation_id", neither),
            ("enduser.id", neither),
            ("", neither),
        ] {
            assert_eq!(classify(key), class, "{key}");
        }
    }

    proptest::proptest! {
        /// The scan agrees with the plain definition: a key is secret or
        /// personal when its lower-cased form contains a listed fragment.
        #[test]
        fn the_scan_finds_what_a_plain_search_finds(key in "[a-zA-Z._:-]{0,40}|([a-z._]{0,6}(tok|toKen|jwt|Auth|authorization|passWord|secret|credential|EMAIL|user|name|_|\\.)){1,5}") {
            let lower = key.to_ascii_lowercase();
            let expected = KeyClass {
                secret: SECRET_KEYS.iter().any(|f| lower.contains(f)),
                personal: PERSONAL_KEYS.iter().any(|f| lower.contains(f)),
            };
            proptest::prop_assert_eq!(classify(&key), expected, "{}", key);
        }

        /// A lookup through the table, first and later, gives the scan's
        /// class, whatever else went through the slot before.
        #[test]
        fn the_table_gives_the_scans_class(keys in proptest::collection::vec("[a-zA-Z._]{0,12}(token|email|user_name|x)?[a-z]{0,3}", 1..40)) {
            for key in keys.iter().chain(keys.iter().rev()) {
                proptest::prop_assert_eq!(class_of(key), classify(key), "{}", key);
            }
        }
    }

    #[test]
    fn a_shared_slot_never_gives_a_key_another_keys_class() {
        // Two keys of different classes in one slot, looked up in turn.
        let secret = "app.token";
        let neutral = (0..)
            .map(|i| format!("app.field{i}"))
            .find(|k| slot(k.as_bytes()) == slot(secret.as_bytes()))
            .unwrap();
        for _ in 0..3 {
            assert!(class_of(secret).secret, "{secret}");
            assert_eq!(class_of(&neutral), KeyClass::default(), "{neutral}");
        }
        let long = format!("{}token", "x".repeat(LONGEST_KEPT));
        assert!(class_of(&long).secret, "a key too long to keep is scanned");
    }

    #[test]
    fn slots_spread_the_keys_of_a_span() {
        let keys = [
            "app.connection.id",
            "app.route_key",
            crate::attributes::PERF_HANDLER,
            crate::attributes::PERF_OUTCOME,
            crate::attributes::PERF_MEMORY_BYTES,
            "rpc.system",
            "rpc.service",
            "rpc.method",
            "aws.region",
            "aws.request_id",
            "faas.trigger",
            "faas.invocation_id",
            "faas.coldstart",
            "cloud.account.id",
        ];
        let slots: std::collections::HashSet<usize> =
            keys.iter().map(|k| slot(k.as_bytes())).collect();
        assert!(slots.len() >= keys.len() - 2, "{slots:?}");
        assert!(slots.iter().all(|&s| s < SLOTS));
    }
}
