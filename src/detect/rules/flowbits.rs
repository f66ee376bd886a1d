//! `flowbits`: named bits a flow carries between its transactions, so that one rule can set
//! what another tests (`set`, `isset`, `isnotset`, `unset`, `toggle`; `noalert` silences the
//! setter). Names become numbers when the rules are loaded; a flow keeps its bits with the
//! generation of the rule set that numbered them, and a reload starts them afresh.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};

/// The numbering of flowbit names in one rule set.
#[derive(Debug)]
pub(crate) struct FlowbitNames {
    names: HashMap<String, u16>,
    /// The rule set's generation (distinct for every load in the process).
    pub(crate) generation: u32,
}

static GENERATIONS: AtomicU32 = AtomicU32::new(1);

impl Default for FlowbitNames {
    fn default() -> Self {
        FlowbitNames {
            names: HashMap::new(),
            generation: GENERATIONS.fetch_add(1, Ordering::Relaxed),
        }
    }
}

impl FlowbitNames {
    fn index(&mut self, name: &str) -> Result<u16, String> {
        if let Some(&i) = self.names.get(name) {
            return Ok(i);
        }
        let i = u16::try_from(self.names.len()).map_err(|_| "more than 65,536 flowbit names")?;
        self.names.insert(name.to_string(), i);
        Ok(i)
    }

    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }
}

/// One `flowbits:` operation on the bit(s) named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum FlowbitOp {
    Set(u16),
    Unset(u16),
    Toggle(u16),
    /// Any of the bits is set (`isset:a|b`).
    IsSet(Vec<u16>),
    /// None of the bits is set.
    IsNotSet(Vec<u16>),
}

impl FlowbitOp {
    /// Parses `set,name` ... `None` for `noalert`.
    pub(crate) fn parse(
        value: &str,
        names: &mut FlowbitNames,
    ) -> Result<Option<FlowbitOp>, String> {
        let (cmd, arg) = match value.split_once(',') {
            Some((c, a)) => (c.trim(), Some(a.trim())),
            None => (value.trim(), None),
        };
        if cmd == "noalert" {
            return match arg {
                None => Ok(None),
                Some(_) => Err("noalert takes no name".into()),
            };
        }
        let arg = arg
            .filter(|a| !a.is_empty())
            .ok_or_else(|| format!("{cmd} needs a name (flowbits:{cmd},name)"))?;
        let mut bits = Vec::new();
        for name in arg.split(['|', '&']).map(str::trim) {
            if name.is_empty() || name.contains(char::is_whitespace) {
                return Err(format!("{name:?} is no flowbit name"));
            }
            bits.push(names.index(name)?);
        }
        let one = || -> Result<u16, String> {
            match bits.as_slice() {
                [b] => Ok(*b),
                _ => Err(format!("{cmd} takes one name")),
            }
        };
        Ok(Some(match cmd {
            "set" => FlowbitOp::Set(one()?),
            "unset" => FlowbitOp::Unset(one()?),
            "toggle" => FlowbitOp::Toggle(one()?),
            "isset" if arg.contains('&') => {
                return Err(
                    "isset with '&' (all of) is not supported; write one isset per name".into(),
                )
            }
            "isset" => FlowbitOp::IsSet(bits),
            "isnotset" if arg.contains('&') => {
                return Err(
                    "isnotset with '&' is not supported; write one isnotset per name".into(),
                )
            }
            "isnotset" => FlowbitOp::IsNotSet(bits),
            other => {
                return Err(format!(
                    "{other:?}: flowbits takes set, isset, isnotset, unset, toggle or noalert"
                ))
            }
        }))
    }

    /// Whether the operation changes bits (it then runs after the rule matched).
    pub(crate) fn changes(&self) -> bool {
        matches!(
            self,
            FlowbitOp::Set(_) | FlowbitOp::Unset(_) | FlowbitOp::Toggle(_)
        )
    }

    /// Whether a condition holds (operations that change bits always hold).
    pub(crate) fn holds(&self, bits: &Flowbits) -> bool {
        match self {
            FlowbitOp::IsSet(names) => names.iter().any(|&b| bits.get(b)),
            FlowbitOp::IsNotSet(names) => !names.iter().any(|&b| bits.get(b)),
            _ => true,
        }
    }

    /// Applies a change.
    pub(crate) fn apply(&self, bits: &mut Flowbits) {
        match *self {
            FlowbitOp::Set(b) => bits.put(b, true),
            FlowbitOp::Unset(b) => bits.put(b, false),
            FlowbitOp::Toggle(b) => {
                let now = bits.get(b);
                bits.put(b, !now)
            }
            _ => {}
        }
    }
}

/// The bits one flow carries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Flowbits {
    generation: u32,
    words: Vec<u64>,
}

impl Flowbits {
    /// Forgets bits numbered by another rule set.
    pub(crate) fn for_generation(&mut self, generation: u32) {
        if self.generation != generation {
            self.generation = generation;
            self.words.clear();
        }
    }

    pub(crate) fn get(&self, bit: u16) -> bool {
        self.words
            .get(usize::from(bit / 64))
            .is_some_and(|w| w & (1 << (bit % 64)) != 0)
    }

    fn put(&mut self, bit: u16, on: bool) {
        let word = usize::from(bit / 64);
        if self.words.len() <= word {
            if !on {
                return;
            }
            self.words.resize(word + 1, 0);
        }
        if on {
            self.words[word] |= 1 << (bit % 64);
        } else {
            self.words[word] &= !(1 << (bit % 64));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_test_unset_toggle() {
        let mut names = FlowbitNames::default();
        let set = FlowbitOp::parse("set,ET.evil", &mut names)
            .unwrap()
            .unwrap();
        let isset = FlowbitOp::parse("isset, ET.evil", &mut names)
            .unwrap()
            .unwrap();
        let isnotset = FlowbitOp::parse("isnotset,ET.evil|other", &mut names)
            .unwrap()
            .unwrap();
        let toggle = FlowbitOp::parse("toggle,ET.evil", &mut names)
            .unwrap()
            .unwrap();
        assert_eq!(names.len(), 2);
        assert_eq!(FlowbitOp::parse("noalert", &mut names).unwrap(), None);
        let mut bits = Flowbits::default();
        bits.for_generation(names.generation);
        assert!(!isset.holds(&bits) && isnotset.holds(&bits));
        set.apply(&mut bits);
        assert!(isset.holds(&bits) && !isnotset.holds(&bits));
        toggle.apply(&mut bits);
        assert!(!isset.holds(&bits));
        // Another rule set: the bits start afresh.
        set.apply(&mut bits);
        bits.for_generation(names.generation + 1);
        assert!(!isset.holds(&bits));
    }

    #[test]
    fn bad_flowbits_say_why() {
        let mut names = FlowbitNames::default();
        assert!(FlowbitOp::parse("set", &mut names)
            .unwrap_err()
            .contains("needs a name"));
        assert!(FlowbitOp::parse("set,a|b", &mut names).is_err());
        assert!(FlowbitOp::parse("isset,a&b", &mut names).is_err());
        assert!(FlowbitOp::parse("flip,a", &mut names).is_err());
    }
}
