//! Where `MemoryUsage` comes from.
//!
//! `MemoryUsage` is the process's *current* memory, never its peak since
//! start (which `getrusage` gives, and which never goes down). Two sources
//! are cheap enough for every operation:
//!
//! - [`CountingAllocator`]: opt-in global allocator that counts live heap
//!   bytes. Reading it is one atomic load (about a nanosecond); it adds one
//!   relaxed atomic add to every allocation and free.
//! - Resident set size from `/proc/self/statm`, read through a file kept
//!   open (about a microsecond) and re-read at most once per
//!   [`RESIDENT_RESAMPLE_INTERVAL`], so a busy process pays the read once per
//!   interval, not once per operation.
//!
//! [`MemorySource::Auto`] picks the allocator when it is installed and the
//! resident set otherwise.

use std::alloc::{GlobalAlloc, Layout, System};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long a resident-set sample is reused before `/proc/self/statm` is read
/// again.
pub const RESIDENT_RESAMPLE_INTERVAL: Duration = Duration::from_millis(1);

static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);
static ALLOCATOR_INSTALLED: AtomicBool = AtomicBool::new(false);

/// A global allocator that counts live heap bytes, so `MemoryUsage` costs one
/// atomic load. Opt in with:
///
/// ```
/// #[global_allocator]
/// static ALLOC: perfmon_lambda::CountingAllocator = perfmon_lambda::CountingAllocator::system();
/// ```
#[derive(Debug, Default)]
pub struct CountingAllocator<A = System> {
    inner: A,
}

impl CountingAllocator<System> {
    /// Counts on top of the system allocator.
    pub const fn system() -> Self {
        CountingAllocator { inner: System }
    }
}

impl<A> CountingAllocator<A> {
    /// Counts on top of `inner`.
    pub const fn new(inner: A) -> Self {
        CountingAllocator { inner }
    }

    /// Live heap bytes, when a `CountingAllocator` is the global allocator.
    pub fn live_bytes() -> Option<u64> {
        ALLOCATOR_INSTALLED
            .load(Ordering::Relaxed)
            .then(|| LIVE_BYTES.load(Ordering::Relaxed) as u64)
    }
}

// SAFETY: every call is forwarded unchanged to `inner`; the counters are
// side bookkeeping that never touches the returned memory.
unsafe impl<A: GlobalAlloc> GlobalAlloc for CountingAllocator<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = self.inner.alloc(layout);
        if !ptr.is_null() {
            LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
            if !ALLOCATOR_INSTALLED.load(Ordering::Relaxed) {
                ALLOCATOR_INSTALLED.store(true, Ordering::Relaxed);
            }
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = self.inner.alloc_zeroed(layout);
        if !ptr.is_null() {
            LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        self.inner.dealloc(ptr, layout);
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = self.inner.realloc(ptr, layout, new_size);
        if !new.is_null() {
            if new_size >= layout.size() {
                LIVE_BYTES.fetch_add(new_size - layout.size(), Ordering::Relaxed);
            } else {
                LIVE_BYTES.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        new
    }
}

/// Which memory figure `MemoryUsage` reports. Set with `PERFMON_MEMORY_SOURCE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum MemorySource {
    /// The allocator's live bytes when a [`CountingAllocator`] is installed,
    /// the resident set otherwise.
    #[default]
    Auto,
    /// Live heap bytes from the [`CountingAllocator`] (0 when not installed).
    Allocator,
    /// Resident set size from `/proc/self/statm`.
    Resident,
}

impl FromStr for MemorySource {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(MemorySource::Auto),
            "allocator" => Ok(MemorySource::Allocator),
            "resident" | "rss" => Ok(MemorySource::Resident),
            _ => Err("auto, allocator or resident".to_owned()),
        }
    }
}

impl std::fmt::Display for MemorySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MemorySource::Auto => "auto",
            MemorySource::Allocator => "allocator",
            MemorySource::Resident => "resident",
        })
    }
}

/// Samples memory for the monitor, per its [`MemorySource`].
#[derive(Debug)]
pub(crate) struct MemorySampler {
    source: MemorySource,
    resident: ResidentSampler,
}

impl MemorySampler {
    pub(crate) fn new(source: MemorySource) -> Self {
        MemorySampler {
            source,
            resident: ResidentSampler::new(),
        }
    }

    /// Current memory in bytes; `now` is the caller's clock reading.
    pub(crate) fn sample(&self, now: Instant) -> u64 {
        match self.source {
            MemorySource::Allocator => CountingAllocator::<System>::live_bytes().unwrap_or(0),
            MemorySource::Resident => self.resident.sample(now),
            MemorySource::Auto => match CountingAllocator::<System>::live_bytes() {
                Some(bytes) => bytes,
                None => self.resident.sample(now),
            },
        }
    }
}

/// Resident set size with a kept-open `/proc/self/statm` and a short cache.
#[derive(Debug)]
struct ResidentSampler {
    epoch: Instant,
    /// Nanoseconds after `epoch` of the last read, plus one (0 = never read).
    sampled_at: AtomicU64,
    bytes: AtomicU64,
}

impl ResidentSampler {
    fn new() -> Self {
        ResidentSampler {
            epoch: Instant::now(),
            sampled_at: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        }
    }

    fn sample(&self, now: Instant) -> u64 {
        let at = now.saturating_duration_since(self.epoch).as_nanos() as u64 + 1;
        let last = self.sampled_at.load(Ordering::Relaxed);
        if last != 0 && at.saturating_sub(last) < RESIDENT_RESAMPLE_INTERVAL.as_nanos() as u64 {
            return self.bytes.load(Ordering::Relaxed);
        }
        let bytes = read_resident_bytes().unwrap_or(0);
        self.bytes.store(bytes, Ordering::Relaxed);
        self.sampled_at.store(at, Ordering::Relaxed);
        bytes
    }
}

/// Reads the resident set size, in bytes, from `/proc/self/statm`.
pub fn read_resident_bytes() -> Option<u64> {
    static STATM: OnceLock<Option<File>> = OnceLock::new();
    static PAGE_SIZE: OnceLock<u64> = OnceLock::new();
    let file = STATM
        .get_or_init(|| File::open("/proc/self/statm").ok())
        .as_ref()?;
    let mut buf = [0u8; 128];
    let n = file.read_at(&mut buf, 0).ok()?;
    let pages = parse_statm_resident(&buf[..n])?;
    let page = *PAGE_SIZE.get_or_init(page_size);
    Some(pages * page)
}

/// The second field of `statm` (resident pages).
fn parse_statm_resident(text: &[u8]) -> Option<u64> {
    let field = text.split(|b| *b == b' ').nth(1)?;
    std::str::from_utf8(field).ok()?.trim().parse().ok()
}

fn page_size() -> u64 {
    // SAFETY: sysconf reads a constant of the running kernel.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if size > 0 {
        size as u64
    } else {
        4096
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statm_second_field_is_resident_pages() {
        assert_eq!(parse_statm_resident(b"1234 567 89 1 0 100 0\n"), Some(567));
        assert_eq!(parse_statm_resident(b"garbage"), None);
        assert_eq!(parse_statm_resident(b""), None);
    }

    #[test]
    fn resident_bytes_track_current_memory_not_the_peak() {
        let before = read_resident_bytes().expect("statm is readable on Linux");
        let block = vec![1u8; 64 * 1024 * 1024];
        std::hint::black_box(&block);
        let during = read_resident_bytes().unwrap();
        drop(block);
        let after = read_resident_bytes().unwrap();
        assert!(during >= before + 60 * 1024 * 1024, "{before} -> {during}");
        assert!(after + 60 * 1024 * 1024 <= during, "{during} -> {after}");
    }

    #[test]
    fn resident_sampler_reuses_a_fresh_sample() {
        let sampler = ResidentSampler::new();
        let t0 = Instant::now();
        let first = sampler.sample(t0);
        assert!(first > 0);
        sampler.bytes.store(7, Ordering::Relaxed);
        assert_eq!(
            sampler.sample(t0),
            7,
            "within the interval the cache answers"
        );
        let later = t0 + RESIDENT_RESAMPLE_INTERVAL * 2;
        assert_ne!(sampler.sample(later), 7, "after the interval it re-reads");
    }

    #[test]
    fn memory_source_parses_its_names() {
        for s in [
            MemorySource::Auto,
            MemorySource::Allocator,
            MemorySource::Resident,
        ] {
            assert_eq!(s.to_string().parse::<MemorySource>(), Ok(s));
        }
        assert!("peak".parse::<MemorySource>().is_err());
    }
}
