//! The suite tree of a project: paths such as `Root > Child > Leaf`, depths,
//! descendants, and a stable depth-first order.
//!
//! Zebrunner returns suites as a flat list with `parentSuiteId`; everything
//! here is computed from that list. A suite whose parent is missing (deleted)
//! is treated as a root, and parent cycles never loop forever.

use std::collections::HashMap;

use zebrunner_client::TestSuite;

/// Separator used in suite paths.
pub const PATH_SEPARATOR: &str = " > ";

/// An index over a project's suites.
pub struct Hierarchy<'a> {
    suites: HashMap<i64, &'a TestSuite>,
    children: HashMap<Option<i64>, Vec<i64>>,
}

impl<'a> Hierarchy<'a> {
    pub fn new(suites: &'a [TestSuite]) -> Self {
        let by_id: HashMap<i64, &TestSuite> = suites.iter().map(|s| (s.id, s)).collect();
        let mut children: HashMap<Option<i64>, Vec<i64>> = HashMap::new();
        for suite in suites {
            let parent = suite.parent_suite_id.filter(|p| by_id.contains_key(p));
            children.entry(parent).or_default().push(suite.id);
        }
        for ids in children.values_mut() {
            ids.sort_by_key(|id| {
                let s = by_id.get(id);
                (s.and_then(|s| s.relative_position).unwrap_or(i64::MAX), *id)
            });
        }
        Self {
            suites: by_id,
            children,
        }
    }

    pub fn get(&self, id: i64) -> Option<&'a TestSuite> {
        self.suites.get(&id).copied()
    }

    pub fn len(&self) -> usize {
        self.suites.len()
    }

    pub fn is_empty(&self) -> bool {
        self.suites.is_empty()
    }

    /// Direct children of `parent` (roots for `None`), in display order.
    pub fn children(&self, parent: Option<i64>) -> &[i64] {
        self.children.get(&parent).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Ancestors from the root down to `id` itself.
    pub fn lineage(&self, id: i64) -> Vec<&'a TestSuite> {
        let mut chain = Vec::new();
        let mut current = self.get(id);
        while let Some(suite) = current {
            if chain.iter().any(|s: &&TestSuite| s.id == suite.id) {
                break; // a cycle in the data; stop rather than loop
            }
            chain.push(suite);
            current = suite.parent_suite_id.and_then(|p| self.get(p));
        }
        chain.reverse();
        chain
    }

    /// `Root > ... > Suite`, or `None` for an unknown id.
    pub fn path(&self, id: i64) -> Option<String> {
        let lineage = self.lineage(id);
        if lineage.is_empty() {
            return None;
        }
        Some(
            lineage
                .iter()
                .map(|s| s.title.as_str())
                .collect::<Vec<_>>()
                .join(PATH_SEPARATOR),
        )
    }

    /// Depth of a suite: 1 for a root.
    pub fn depth(&self, id: i64) -> usize {
        self.lineage(id).len()
    }

    /// `id` and every suite below it, depth first.
    pub fn subtree(&self, id: i64) -> Vec<i64> {
        if self.get(id).is_none() {
            return Vec::new();
        }
        let mut out = vec![id];
        let mut i = 0;
        while i < out.len() {
            let current = out[i];
            for &child in self.children(Some(current)) {
                if !out.contains(&child) {
                    out.push(child);
                }
            }
            i += 1;
        }
        out
    }

    /// Every suite under `root` (or the whole project) with its depth, in
    /// depth-first display order: parents before children, siblings by
    /// position.
    pub fn depth_first(&self, root: Option<i64>) -> Vec<(i64, usize)> {
        let mut out = Vec::new();
        let mut stack: Vec<(i64, usize)> = match root {
            Some(id) if self.get(id).is_some() => vec![(id, self.depth(id))],
            Some(_) => Vec::new(),
            None => self
                .children(None)
                .iter()
                .rev()
                .map(|&id| (id, 1))
                .collect(),
        };
        let mut seen = std::collections::HashSet::new();
        while let Some((id, depth)) = stack.pop() {
            if !seen.insert(id) {
                continue;
            }
            out.push((id, depth));
            for &child in self.children(Some(id)).iter().rev() {
                stack.push((child, depth + 1));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn suite(id: i64, title: &str, parent: Option<i64>, pos: i64) -> TestSuite {
        serde_json::from_value(serde_json::json!({
            "id": id, "title": title, "parentSuiteId": parent, "relativePosition": pos
        }))
        .unwrap()
    }

    fn sample() -> Vec<TestSuite> {
        vec![
            suite(1, "Checkout", None, 1),
            suite(2, "Payments", Some(1), 2),
            suite(3, "Cart", Some(1), 1),
            suite(4, "Cards", Some(2), 1),
            suite(5, "Login", None, 0),
            suite(6, "Orphan", Some(99), 5),
        ]
    }

    #[test]
    fn paths_and_depths() {
        let suites = sample();
        let h = Hierarchy::new(&suites);
        assert_eq!(h.path(4).unwrap(), "Checkout > Payments > Cards");
        assert_eq!(h.depth(4), 3);
        assert_eq!(h.path(6).unwrap(), "Orphan");
        assert_eq!(h.path(42), None);
    }

    #[test]
    fn depth_first_orders_by_position() {
        let suites = sample();
        let h = Hierarchy::new(&suites);
        let order: Vec<i64> = h.depth_first(None).into_iter().map(|(id, _)| id).collect();
        assert_eq!(order, vec![5, 1, 3, 2, 4, 6]);
        let sub: Vec<i64> = h
            .depth_first(Some(2))
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(sub, vec![2, 4]);
    }

    #[test]
    fn subtree_includes_self_and_descendants() {
        let suites = sample();
        let h = Hierarchy::new(&suites);
        let mut sub = h.subtree(1);
        sub.sort();
        assert_eq!(sub, vec![1, 2, 3, 4]);
        assert!(h.subtree(77).is_empty());
    }

    #[test]
    fn cycles_terminate() {
        let suites = vec![suite(1, "A", Some(2), 0), suite(2, "B", Some(1), 0)];
        let h = Hierarchy::new(&suites);
        assert!(h.path(1).is_some());
        assert!(h.depth(2) <= 2);
    }
}
