//! [`Recent`]: the components a run compiled or loaded last, kept in memory and shared by every
//! process started from the same bytes on the same engine. A [`Component`] is a handle to
//! immutable compiled code made to be instantiated any number of times; sharing it spares each
//! process its own copy of the code (about 2 MiB for the probe guest). Bounded by
//! [`CAPACITY`]: the least recently used is let go first (processes still running keep theirs).

use std::sync::{Arc, Mutex};

use wasmtime::component::Component;

use crate::compile_cache::entry::EntryId;

/// How many components are kept.
pub const CAPACITY: usize = 16;

/// The recently used components, most recent last. Cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub struct Recent(Arc<Mutex<Vec<(EntryId, Component)>>>);

impl Recent {
    /// The component of `id`, if kept; it becomes the most recent.
    pub fn get(&self, id: &EntryId) -> Option<Component> {
        let mut kept = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let i = kept.iter().position(|(k, _)| k == id)?;
        let hit = kept.remove(i);
        let component = hit.1.clone();
        kept.push(hit);
        Some(component)
    }

    /// Keeps `component` as the most recent, letting the least recent go past [`CAPACITY`].
    pub fn put(&self, id: EntryId, component: Component) {
        let mut kept = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        kept.retain(|(k, _)| *k != id);
        kept.push((id, component));
        if kept.len() > CAPACITY {
            let excess = kept.len() - CAPACITY;
            kept.drain(..excess);
        }
    }

    /// How many components are kept.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.0.lock().map(|k| k.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use wasmtime::Engine;

    use super::*;

    fn id(n: u8) -> EntryId {
        EntryId {
            engine: [0; 32],
            wasm: [n; 32],
        }
    }

    #[test]
    fn the_least_recently_used_goes_first() {
        let engine = Engine::default();
        let bytes = wat::parse_str("(component)").expect("WAT");
        let component = Component::new(&engine, bytes).expect("an empty component");
        let recent = Recent::default();
        for n in 0..CAPACITY as u8 {
            recent.put(id(n), component.clone());
        }
        assert!(recent.get(&id(0)).is_some(), "0 is now the most recent");
        recent.put(id(200), component.clone());
        assert_eq!(recent.len(), CAPACITY);
        assert!(recent.get(&id(1)).is_none(), "1 was the least recent");
        assert!(recent.get(&id(0)).is_some());
        recent.put(id(0), component);
        assert_eq!(recent.len(), CAPACITY, "no duplicate");
    }
}
