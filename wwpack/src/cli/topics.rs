//! `wwpack help TOPIC`: long help on what no single verb owns, the CID profiles, the block
//! store and `wwpack.toml`. Each topic's text is a small file beside this one
//! (`topics/NAME.md`), printed as it is.

/// A topic: its name (what `wwpack help` takes), one line about it, and its text.
pub struct Topic {
    pub name: &'static str,
    pub about: &'static str,
    pub text: &'static str,
}

/// Every topic, in the order `wwpack --help` lists them.
pub const TOPICS: [Topic; 3] = [
    Topic {
        name: "profiles",
        about: "the CID profiles: unixfs-v1-2025, unixfs-v0-2015, kubo-cidv1",
        text: include_str!("topics/profiles.md"),
    },
    Topic {
        name: "store",
        about: "the block store: where it is, its variables, locking, pins and gc",
        text: include_str!("topics/store.md"),
    },
    Topic {
        name: "config",
        about: "wwpack.toml: every key",
        text: include_str!("topics/config.md"),
    },
];

/// The topic called `name`.
pub fn find(name: &str) -> Option<&'static Topic> {
    TOPICS.iter().find(|t| t.name == name)
}

/// The "Help topics:" section of `wwpack --help`.
pub fn listing() -> String {
    let mut out = String::from("Help topics (wwpack help TOPIC):\n");
    for t in &TOPICS {
        out.push_str(&format!("  {:<10}{}\n", t.name, t.about));
    }
    out
}
