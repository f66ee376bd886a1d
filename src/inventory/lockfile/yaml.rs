//! A YAML document as a small tree, from yaml-rust2's event parser: scalars as text, sequences,
//! mappings in file order. Aliases are refused (lockfiles have none, and expanding them is how a
//! few bytes of YAML become gigabytes) and so is nesting deeper than [`MAX_DEPTH`].

use super::LockfileError;
use yaml_rust2::parser::{Event, Parser};

/// Deepest nesting read; lockfiles use four levels or so.
const MAX_DEPTH: usize = 64;

/// One YAML node.
#[derive(Debug)]
pub(crate) enum Node {
    Scalar(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The scalar's text.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Node::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// The value of mapping key `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// A mapping's entries (none for another node).
    pub(crate) fn entries(&self) -> &[(Node, Node)] {
        match self {
            Node::Map(entries) => entries,
            _ => &[],
        }
    }
}

/// The first document of `text` (an empty file is an empty mapping).
pub(crate) fn load(text: &str) -> Result<Node, LockfileError> {
    let mut parser = Parser::new_from_str(text);
    // A stack of open collections: a sequence, or a mapping with its pending key.
    let mut stack: Vec<(Node, Option<Node>)> = Vec::new();
    loop {
        let (event, mark) = parser
            .next_token()
            .map_err(|e| LockfileError::Yaml(e.to_string()))?;
        let err = |what: &str| {
            LockfileError::Yaml(format!(
                "{what} at line {} column {}",
                mark.line(),
                mark.col() + 1
            ))
        };
        let node = match event {
            Event::StreamStart | Event::DocumentStart | Event::Nothing => continue,
            Event::StreamEnd | Event::DocumentEnd => return Ok(Node::Map(Vec::new())),
            Event::Alias(_) => return Err(err("an alias (`*name`), which lockfiles do not use,")),
            Event::Scalar(text, ..) => Node::Scalar(text),
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(err(&format!("nesting deeper than {MAX_DEPTH}")));
                }
                let open = match event {
                    Event::SequenceStart(..) => Node::Seq(Vec::new()),
                    _ => Node::Map(Vec::new()),
                };
                stack.push((open, None));
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some((node, None)) => node,
                _ => return Err(err("an unbalanced collection")),
            },
        };
        // Attach the finished node to its parent, or return it as the document.
        match stack.last_mut() {
            None => return Ok(node),
            Some((Node::Seq(items), _)) => items.push(node),
            Some((Node::Map(entries), pending)) => match pending.take() {
                None => *pending = Some(node),
                Some(key) => entries.push((key, node)),
            },
            Some((Node::Scalar(_), _)) => return Err(err("a scalar holding a node")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_aliases_and_depth() {
        let doc = load("a: 1\nb:\n  - x\n  - {c: d}\n").unwrap();
        assert_eq!(doc.get("a").and_then(Node::as_str), Some("1"));
        assert!(matches!(doc.get("b"), Some(Node::Seq(v)) if v.len() == 2));
        assert!(load("").unwrap().entries().is_empty());
        let e = load("a: &x [1]\nb: *x\n").unwrap_err().to_string();
        assert!(e.contains("alias"), "{e}");
        let deep = "[".repeat(200);
        assert!(load(&deep).is_err());
        assert!(load("a: [1\n").is_err());
    }
}
