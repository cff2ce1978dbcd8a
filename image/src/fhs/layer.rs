//! The rules of one layer: its symlinks are relative and stay inside it when resolved through
//! its own symlinks ([`super::symlinks`] resolves them). The wording of a refused symlink,
//! for a layer or for the union of an image's layers (which names each link's layer), is here
//! too, so both say it the same way.

use crate::error::{Error, Result};
use crate::union::Union;
use ww_content::text::printable;
use ww_content::tree::{RelPath, Tree};

use super::symlinks::{self, Problem, MAX_SYMLINKS, MAX_TARGET_LEN};
use super::{summarize, Finding};

/// Checks the symlinks of `layer`: a target that is absolute, empty or longer than Linux
/// allows, or whose resolution through the layer's own symlinks climbs above the layer root,
/// loops, or follows more than 40 links, is an error naming the layer, the path, the target and
/// the rule. All such symlinks are reported in one error. Names a resolution meets that the
/// layer does not have (a link that dangles here may point into another layer) are resolved
/// lexically from there on; [`super::check_image`] checks the union, across layers.
pub fn validate_layer(layer: &str, tree: &Tree) -> Result<()> {
    let scope = Scope::Layer;
    let findings: Vec<Finding> = symlinks::check(tree)
        .into_iter()
        .map(|(path, target, problem)| Finding {
            path: path.to_string(),
            rule: symlink_rule(&scope, &target, &path, &problem),
        })
        .collect();
    if findings.is_empty() {
        Ok(())
    } else {
        Err(Error::Layer {
            layer: layer.to_string(),
            message: summarize(&findings),
        })
    }
}

/// Where a symlink is checked: in one layer, or in the union of an image's layers (whose
/// messages name the layer of each link).
pub(super) enum Scope<'a> {
    Layer,
    Image(&'a Union),
}

impl Scope<'_> {
    fn word(&self) -> &'static str {
        match self {
            Scope::Layer => "layer",
            Scope::Image(_) => "image",
        }
    }

    /// ` (from layer `x`)` in an image, nothing in a layer.
    pub(super) fn from(&self, path: &RelPath) -> String {
        match self {
            Scope::Layer => String::new(),
            Scope::Image(union) => union
                .get(path.as_str())
                .and_then(|item| union.layers().get(item.layer))
                .map_or(String::new(), |layer| format!(" (from layer `{layer}`)")),
        }
    }
}

/// The rule the symlink at `path` to `target` breaks, worded to follow its path.
pub(super) fn symlink_rule(
    scope: &Scope,
    target: &str,
    path: &RelPath,
    problem: &Problem,
) -> String {
    let word = scope.word();
    let rule = format!(
        "symlinks must be relative and stay inside their {word} when resolved through its \
         symlinks (at most {MAX_SYMLINKS})"
    );
    let target = printable(target);
    let what = match problem {
        Problem::Absolute => {
            return format!("is a symlink to the absolute path `{target}`; {rule}")
        }
        Problem::Empty => return format!("is a symlink with an empty target; {rule}"),
        Problem::TooLong(len) => {
            return format!(
                "is a symlink whose target is {len} bytes, more than the {MAX_TARGET_LEN} Linux \
                 stores; {rule}"
            )
        }
        Problem::Escapes { via, followed } if via.path == *path => {
            if *followed {
                format!("climbs above the {word} root once the symlinks on its way are followed")
            } else {
                format!("climbs above the {word} root")
            }
        }
        Problem::Escapes { via, .. } if via.absolute => format!(
            "leads out of the {word} through the symlink `{}`{} to the absolute path `{}`",
            via.path,
            scope.from(&via.path),
            printable(&via.target)
        ),
        Problem::Escapes { via, .. } => format!(
            "climbs above the {word} root through the symlink `{}`{} -> `{}`",
            via.path,
            scope.from(&via.path),
            printable(&via.target)
        ),
        Problem::Loops { via } if via == path => "loops: resolving it leads back to itself".into(),
        Problem::Loops { via } => format!(
            "loops: resolving it meets the symlink `{via}`{} again",
            scope.from(via)
        ),
        Problem::TooManyLinks => format!(
            "takes more than {MAX_SYMLINKS} symlinks to resolve (Linux refuses it with ELOOP)"
        ),
    };
    format!("is a symlink to `{target}`, which {what}; {rule}")
}
