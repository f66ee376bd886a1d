//! `direct-ip` verdicts the merge stage has already reached, shared with the shards. The merge
//! stage decides each candidate flow at the point of the capture where it started; when the
//! verdict is "resolved" (the common case: the runner looked the name up first) it marks the flow
//! here, and the shard, about to build the flow's speculative `direct-ip` alert, finds the mark
//! and skips it. Without a mark the shard builds the alert and the merge stage decides as before,
//! so the events are the same either way; the marks only save work.

use rustc_hash::FxHashSet;
use std::sync::Mutex;

/// Flows found resolved, one set per shard (each set touched once or twice per flow).
#[derive(Debug)]
pub struct ResolvedFlows {
    shards: Vec<Mutex<FxHashSet<u64>>>,
}

impl ResolvedFlows {
    pub fn new(shards: usize) -> Self {
        ResolvedFlows {
            shards: (0..shards.max(1))
                .map(|_| Mutex::new(FxHashSet::default()))
                .collect(),
        }
    }

    fn set(&self, shard: usize) -> std::sync::MutexGuard<'_, FxHashSet<u64>> {
        let i = shard.min(self.shards.len() - 1);
        // A poisoned set only means another thread panicked; its contents are still valid.
        self.shards[i].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The merge stage found flow `flow_id` of `shard` resolved.
    pub fn mark(&self, shard: usize, flow_id: u64) {
        self.set(shard).insert(flow_id);
    }

    /// The flow ended: its mark, if any, is no longer needed.
    pub fn forget(&self, shard: usize, flow_id: u64) {
        self.set(shard).remove(&flow_id);
    }

    /// Whether flow `flow_id` of `shard` was found resolved (the mark is taken).
    pub fn take(&self, shard: usize, flow_id: u64) -> bool {
        self.set(shard).remove(&flow_id)
    }
}
