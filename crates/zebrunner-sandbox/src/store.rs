//! The in-memory state behind the fake API.
//!
//! [`Store`] is built by [`seed::generate`](crate::seed::generate) and then
//! mutated by write endpoints. It lives behind an `RwLock` in the shared
//! `Sandbox`; lookups here are plain functions so handlers stay short.

use std::collections::HashMap;

use crate::model::*;

#[derive(Debug, Clone, Default)]
pub struct Store {
    pub people: Vec<Person>,
    pub accounts: Vec<Account>,
    pub projects: Vec<Project>,
    pub settings: HashMap<i64, ProjectSettings>,
    pub suites: Vec<Suite>,
    /// Test cases per project id, in creation (id) order.
    pub cases: HashMap<i64, Vec<TestCase>>,
    /// Case id -> (project id, index into `cases[project]`).
    pub case_loc: HashMap<i64, (i64, usize)>,
    pub changes: HashMap<i64, Vec<Change>>,
    pub milestones: Vec<Milestone>,
    pub runs: Vec<TestRun>,
    pub run_cases: HashMap<i64, Vec<RunCase>>,
    /// Launches, newest first within a project.
    pub launches: Vec<Launch>,
    pub tests: HashMap<i64, Vec<LaunchTest>>,
    /// Next id for anything created through the API.
    pub next_id: i64,
    /// Last used `<KEY>-<n>` number per project.
    pub case_numbers: HashMap<i64, i64>,
    /// Lookups by id (suites, cases, runs, milestones, launches) ignore the
    /// project the request names, as a Zebrunner that does not scope them
    /// would (set through `POST /__sandbox/behaviour`; off after a reset).
    pub ids_ignore_project: bool,
}

impl Store {
    pub fn alloc_id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    pub fn person(&self, id: i64) -> Option<&Person> {
        self.people.iter().find(|p| p.id == id)
    }

    pub fn account_by_login(&self, login: &str) -> Option<(&Account, &Person)> {
        self.accounts.iter().find_map(|a| {
            let p = self.person(a.person_id)?;
            (p.username == login).then_some((a, p))
        })
    }

    /// The account of the person whose e-mail or username is `name`, ignoring
    /// ASCII case (how the token exchange finds the person an ID token names).
    pub fn account_by_email_or_username(&self, name: &str) -> Option<(&Account, &Person)> {
        self.accounts.iter().find_map(|a| {
            let p = self.person(a.person_id)?;
            (p.email.eq_ignore_ascii_case(name) || p.username.eq_ignore_ascii_case(name))
                .then_some((a, p))
        })
    }

    pub fn account_by_token(&self, token: &str) -> Option<(&Account, &Person)> {
        self.accounts.iter().find_map(|a| {
            let p = self.person(a.person_id)?;
            (a.token == token).then_some((a, p))
        })
    }

    pub fn project_by_key(&self, key: &str) -> Option<&Project> {
        self.projects.iter().find(|p| p.key == key)
    }

    pub fn project(&self, id: i64) -> Option<&Project> {
        self.projects.iter().find(|p| p.id == id)
    }

    pub fn settings(&self, project_id: i64) -> Option<&ProjectSettings> {
        self.settings.get(&project_id)
    }

    /// Whether an object of `owner` answers a lookup naming `project_id`.
    fn in_scope(&self, owner: i64, project_id: i64) -> bool {
        self.ids_ignore_project || owner == project_id
    }

    pub fn suite(&self, project_id: i64, id: i64) -> Option<&Suite> {
        self.suites
            .iter()
            .find(|s| s.id == id && self.in_scope(s.project_id, project_id))
    }

    pub fn project_cases(&self, project_id: i64) -> &[TestCase] {
        self.cases.get(&project_id).map_or(&[], Vec::as_slice)
    }

    pub fn case(&self, project_id: i64, id: i64) -> Option<&TestCase> {
        let (pid, idx) = *self.case_loc.get(&id)?;
        if !self.in_scope(pid, project_id) {
            return None;
        }
        self.cases.get(&pid)?.get(idx)
    }

    pub fn case_mut(&mut self, project_id: i64, id: i64) -> Option<&mut TestCase> {
        let (pid, idx) = *self.case_loc.get(&id)?;
        if !self.in_scope(pid, project_id) {
            return None;
        }
        self.cases.get_mut(&pid)?.get_mut(idx)
    }

    pub fn case_by_key(&self, project_id: i64, key: &str) -> Option<&TestCase> {
        // Keys are `<KEY>-<n>` and cases are stored in number order for seeded
        // data, but created cases may follow deleted numbers, so search.
        if self.ids_ignore_project {
            return self.cases.values().flatten().find(|c| c.key == key);
        }
        self.project_cases(project_id).iter().find(|c| c.key == key)
    }

    pub fn insert_case(&mut self, case: TestCase) {
        let list = self.cases.entry(case.project_id).or_default();
        self.case_loc.insert(case.id, (case.project_id, list.len()));
        list.push(case);
    }

    pub fn next_case_key(&mut self, project_id: i64) -> Option<String> {
        let key = self.project(project_id)?.key.clone();
        let n = self.case_numbers.entry(project_id).or_insert(0);
        *n += 1;
        Some(format!("{key}-{n}"))
    }

    pub fn milestone(&self, project_id: i64, id: i64) -> Option<&Milestone> {
        self.milestones
            .iter()
            .find(|m| m.id == id && self.in_scope(m.project_id, project_id))
    }

    pub fn run(&self, project_id: i64, id: i64) -> Option<&TestRun> {
        self.runs
            .iter()
            .find(|r| r.id == id && self.in_scope(r.project_id, project_id))
    }

    pub fn launch(&self, project_id: i64, id: i64) -> Option<&Launch> {
        self.launches
            .iter()
            .find(|l| l.id == id && self.in_scope(l.project_id, project_id))
    }

    pub fn launch_tests(&self, launch_id: i64) -> &[LaunchTest] {
        self.tests.get(&launch_id).map_or(&[], Vec::as_slice)
    }

    /// Descendants of a suite (not including it), depth first.
    pub fn descendant_suites(&self, project_id: i64, root: i64) -> Vec<i64> {
        let mut out = Vec::new();
        let mut stack = vec![root];
        while let Some(id) = stack.pop() {
            for s in self
                .suites
                .iter()
                .filter(|s| s.project_id == project_id && s.parent_id == Some(id))
            {
                // Guards against cycles that a bad PUT could never create, cheaply.
                if !out.contains(&s.id) && s.id != root {
                    out.push(s.id);
                    stack.push(s.id);
                }
            }
        }
        out
    }
}
