//! Where each span of a batch goes, as `opentelemetry-aws`'s nesting
//! (`always_nest_subsegments`) places it, within each trace:
//! - a subsegment whose parent is in the batch is written inside it;
//!   every other span is a document of its own;
//! - siblings (spans with the same parent, in the batch or not) are in
//!   start-time order, batch order breaking ties;
//! - a subsegment that starts after the previous qualifying sibling ended
//!   lists the siblings that qualified before it as `precursor_ids`.

use opentelemetry::trace::{SpanId, TraceId};

use super::attributes::{Declined, Kind};
use super::span_plan::Plan;

/// The placement of a batch's spans, by their positions in the batch.
#[derive(Debug)]
pub(super) struct Placement {
    /// Positions in start-time order.
    order: Vec<usize>,
    /// The span each is written inside.
    parent: Vec<Option<usize>>,
    /// The last sibling before it in its `precursor_ids`, whose own entry
    /// continues the list.
    before: Vec<Option<usize>>,
}

impl Placement {
    /// Positions in start-time order.
    pub(super) fn order(&self) -> &[usize] {
        &self.order
    }

    /// The span `i` is written inside, if any.
    pub(super) fn parent(&self, i: usize) -> Option<usize> {
        self.parent[i]
    }

    /// The spans written inside `i`, in order.
    pub(super) fn children(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        self.order
            .iter()
            .copied()
            .filter(move |&j| self.parent[j] == Some(i))
    }

    /// `i` and every span written inside it, at any depth.
    pub(super) fn subtree(&self, i: usize) -> Vec<usize> {
        let mut spans = vec![i];
        let mut next = 0;
        while let Some(&at) = spans.get(next) {
            spans.extend(self.children(at));
            next += 1;
        }
        spans
    }

    /// `i`'s precursors, first to last.
    pub(super) fn precursors(&self, i: usize) -> impl Iterator<Item = usize> {
        let mut list = Vec::new();
        let mut at = self.before[i];
        while let Some(j) = at {
            list.push(j);
            at = self.before[j];
        }
        list.into_iter().rev()
    }
}

/// Places `plans`; declines batches the translator would treat as broken
/// (two spans with one id, a span its own parent, a cycle, a subsegment
/// without a parent), or whose traces share a parent span id.
pub(super) fn place(plans: &[Plan<'_>]) -> Result<Placement, Declined> {
    let n = plans.len();
    let trace = |i: usize| plans[i].span.span_context.trace_id();
    let id = |i: usize| (trace(i), plans[i].span.span_context.span_id());
    let parent_id = |i: usize| (trace(i), plans[i].span.parent_span_id);
    let mut order: Vec<usize> = (0..n).collect();
    // Stable: ties keep batch order.
    order.sort_by(|&a, &b| plans[a].start.total_cmp(&plans[b].start));
    let subsegment_with_parent =
        |i: usize| plans[i].kind == Kind::Subsegment && parent_id(i).1 != SpanId::INVALID;
    // Positions by (span id, trace id): duplicates are neighbours, and a
    // parent is found by a binary search. Sorting beats comparing every
    // pair, which cost 2k instructions a chat message in a server's batch
    // of 24 spans.
    let key = |(tid, sid): (TraceId, SpanId)| {
        (
            u64::from_be_bytes(sid.to_bytes()),
            u128::from_be_bytes(tid.to_bytes()),
        )
    };
    let mut by_id: Vec<((u64, u128), usize)> = (0..n).map(|i| (key(id(i)), i)).collect();
    by_id.sort_unstable();
    if by_id.windows(2).any(|w| w[0].0 == w[1].0) || (0..n).any(|i| parent_id(i) == id(i)) {
        return Err(Declined);
    }
    // The translator tells sibling groups apart by parent span id alone,
    // so two traces whose subsegments share one (with random ids, next to
    // never) are declined: sorted by parent, then trace, such a pair has
    // neighbours that differ in trace only.
    let mut by_parent: Vec<(u64, u128)> = (0..n)
        .filter(|&i| subsegment_with_parent(i))
        .map(|i| key(parent_id(i)))
        .collect();
    by_parent.sort_unstable();
    if by_parent
        .windows(2)
        .any(|w| w[0].0 == w[1].0 && w[0].1 != w[1].1)
    {
        return Err(Declined);
    }
    let parent: Vec<Option<usize>> = (0..n)
        .map(|i| {
            let found = subsegment_with_parent(i)
                .then(|| by_id.binary_search_by_key(&key(parent_id(i)), |e| e.0))?;
            found.ok().map(|at| by_id[at].1)
        })
        .collect();
    for (i, plan) in plans.iter().enumerate() {
        // A subsegment document needs a parent id: the translator drops
        // one without.
        if plan.kind == Kind::Subsegment && parent_id(i).1 == SpanId::INVALID {
            return Err(Declined);
        }
        let (mut at, mut steps) = (i, 0);
        while let Some(p) = parent[at] {
            at = p;
            steps += 1;
            if steps > n {
                return Err(Declined);
            }
        }
    }
    // Per parent: the end of the last qualifying sibling, and that sibling.
    let mut groups: Vec<((TraceId, SpanId), f64, usize)> = Vec::new();
    let mut before = vec![None; n];
    for &i in &order {
        if !subsegment_with_parent(i) {
            continue;
        }
        let plan = &plans[i];
        match groups.iter_mut().find(|g| g.0 == parent_id(i)) {
            None => groups.push((parent_id(i), plan.end, i)),
            Some(group) if group.1 <= plan.start => {
                before[i] = Some(group.2);
                *group = (group.0, plan.end, i);
            }
            Some(_) => {}
        }
    }
    Ok(Placement {
        order,
        parent,
        before,
    })
}
