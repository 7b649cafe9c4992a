//! A map kept as one sorted vector: what a connection's channels and streams need.

/// Entries sorted by key in one vector. Most connections have a channel or a few, and a
/// vector of four entries is a fraction of a B-tree leaf (eleven) or a hash table with
/// its hasher state; lookups are a binary search. Inserting or removing shifts the
/// entries after it, which only channel opening and closing do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct VecMap<K, V>(Vec<(K, V)>);

impl<K, V> Default for VecMap<K, V> {
    fn default() -> Self {
        VecMap(Vec::new())
    }
}

impl<K: Ord + Copy, V> VecMap<K, V> {
    fn find(&self, k: &K) -> Result<usize, usize> {
        self.0.binary_search_by(|(e, _)| e.cmp(k))
    }

    pub(super) fn get(&self, k: &K) -> Option<&V> {
        self.find(k).ok().map(|i| &self.0[i].1)
    }

    pub(super) fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        self.find(k).ok().map(|i| &mut self.0[i].1)
    }

    pub(super) fn contains_key(&self, k: &K) -> bool {
        self.find(k).is_ok()
    }

    /// Inserts or replaces; the value replaced, if any.
    pub(super) fn insert(&mut self, k: K, v: V) -> Option<V> {
        match self.find(&k) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, v)),
            Err(i) => {
                self.0.insert(i, (k, v));
                None
            }
        }
    }

    pub(super) fn remove(&mut self, k: &K) -> Option<V> {
        let i = self.find(k).ok()?;
        let (_, v) = self.0.remove(i);
        if self.0.is_empty() {
            // A connection whose channels all closed keeps no room for them.
            self.0 = Vec::new();
        }
        Some(v)
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    pub(super) fn iter_mut(&mut self) -> impl Iterator<Item = (&K, &mut V)> {
        self.0.iter_mut().map(|(k, v)| (&*k, v))
    }
}

#[cfg(test)]
mod tests {
    use super::VecMap;

    #[test]
    fn keeps_keys_sorted_and_finds_them() {
        let mut m = VecMap::default();
        for k in [5u16, 1, 9, 3] {
            assert_eq!(m.insert(k, k * 10), None);
        }
        assert_eq!(m.insert(3, 31), Some(30));
        assert_eq!(m.iter().map(|(k, _)| *k).collect::<Vec<_>>(), [1, 3, 5, 9]);
        assert_eq!((m.get(&3), m.get(&4)), (Some(&31), None));
        *m.get_mut(&9).unwrap() += 1;
        assert_eq!(m.remove(&9), Some(91));
        assert_eq!(m.remove(&9), None);
        assert!(m.contains_key(&1) && !m.contains_key(&9));
        for (_, v) in m.iter_mut() {
            *v = 0;
        }
        assert!(m.iter().all(|(_, v)| *v == 0));
        for k in [1, 3, 5] {
            m.remove(&k);
        }
        assert_eq!(m.0.capacity(), 0);
    }
}
