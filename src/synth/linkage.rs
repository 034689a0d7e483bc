//! A FEBRL-like record-linkage set: originals, one damaged duplicate of each, and which is which,
//! to measure how often matching links a record back to its source when its values were mistyped,
//! misread or left out.
//!
//! The shape follows FEBRL's (the Freely Extensible Biomedical Record Linkage benchmark, Christen,
//! ANU) dataset4a/4b: Australian-style people in eleven columns, `rec-N-org` originals and
//! `rec-N-dup-0` duplicates so the truth is in the file, written with `", "` between values. The
//! damage is of the kinds its generator does: keyboard typos, OCR misreadings, phonetic
//! respellings, missing values, swapped names, a date's day and month swapped. FEBRL itself is
//! never fetched or committed: these people are drawn from the lists below, whose names are
//! shared and some only a letter or two apart (`jon`/`john`, `smith`/`smyth`), so that a match
//! has to be earned.

use super::mix;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng, rngs::StdRng};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// FEBRL's columns, in its order; `rec_id` carries the truth.
#[rustfmt::skip]
pub const LINKAGE_COLUMNS: [&str; 11] = [
    "rec_id", "given_name", "surname", "street_number", "address_1", "address_2", "suburb", "postcode", "state",
    "date_of_birth", "soc_sec_id",
];
const REC_ID: usize = 0;
const GIVEN_NAME: usize = 1;
const SURNAME: usize = 2;
const STREET_NUMBER: usize = 3;
const ADDRESS_1: usize = 4;
const ADDRESS_2: usize = 5;
const SUBURB: usize = 6;
const POSTCODE: usize = 7;
const STATE: usize = 8;
const DATE_OF_BIRTH: usize = 9;
const SOC_SEC_ID: usize = 10;

#[rustfmt::skip]
const GIVEN_NAMES: &[&str] = &[
    "john", "jon", "michael", "michaela", "sarah", "sara", "james", "jack", "thomas", "emma", "david", "olivia",
    "matthew", "mathew", "jessica", "daniel", "danielle", "emily", "emilie", "andrew", "sophie", "sophia", "joshua",
    "hannah", "benjamin", "chloe", "samuel", "samantha", "william", "liam", "lucy", "luke", "lucas", "grace", "ryan",
    "bryan", "brian", "charlotte", "charles", "george", "georgia", "harry", "henry", "oliver", "isabella", "isabelle",
    "mia", "ella", "amelia", "zoe", "zoey", "nathan", "ethan", "dylan", "caitlin", "kaitlyn", "katherine",
    "catherine", "kathryn", "ann", "anne", "anna", "alan", "allan", "allen", "stephen", "steven", "stephanie",
    "phillip", "philip", "jeffrey", "geoffrey", "peter", "paul", "paula", "mark", "marc", "marcus", "adam", "aaron",
    "kim", "kym", "leigh", "rebecca", "rebekah", "tahlia", "talia", "jayden", "jaden", "mitchell", "lachlan",
    "blake", "jordan", "riley", "kyle", "kylie", "courtney", "brooke", "jasmine", "jasmin", "natalie", "nathalie",
    "luca", "marco", "giulia", "francesca", "alessandro", "hans", "klaus", "jurgen", "lars", "erik", "eric", "karl",
    "carl", "pieter", "jan", "johan", "johann", "ivan", "ivana", "dimitri", "nicholas", "nicolas", "maria", "mario",
    "marie", "elena", "helena", "katarina", "stefan", "stefano", "andreas", "anders", "ingrid", "wei", "mei", "may",
    "li", "jun", "yan", "ying", "xin", "hui", "ming", "hiroshi", "yuki", "yuko", "kenji", "akira", "min", "jin",
    "priya", "anil", "amit", "raj", "ravi", "arjun", "minh", "linh", "anh", "tuan",
];
#[rustfmt::skip]
const SURNAMES: &[&str] = &[
    "smith", "smyth", "nguyen", "jones", "johns", "johnson", "jonson", "williams", "williamson", "brown", "browne",
    "tran", "taylor", "tailor", "wilson", "willson", "martin", "martins", "anderson", "andersen", "thompson",
    "thomson", "lee", "li", "white", "whyte", "walker", "wright", "ryan", "king", "robinson", "robertson", "roberts",
    "green", "greene", "harris", "harrison", "lewis", "louis", "clarke", "clark", "hall", "young", "yang", "allen",
    "mitchell", "campbell", "stewart", "stuart", "kelly", "kelley", "scott", "baker", "turner", "hill", "morris",
    "morrison", "ward", "cooper", "cook", "cooke", "wood", "woods", "moore", "moor", "murphy", "jackson", "evans",
    "edwards", "davies", "davis", "hughes", "price", "bell", "murray", "macdonald", "mcdonald", "mackenzie",
    "mckenzie", "reid", "reed", "read", "ross", "fraser", "frazer", "graham", "grey", "gray", "hunt", "hunter",
    "knight", "lloyd", "obrien", "sullivan", "osullivan", "nolan", "kennedy", "walsh", "welsh", "byrne", "burns",
    "doyle", "quinn", "neumann", "newman", "muller", "mueller", "miller", "schmidt", "schmitt", "schneider",
    "fischer", "fisher", "weber", "meyer", "meier", "mayer", "wagner", "becker", "hoffmann", "hofmann", "koch",
    "richter", "klein", "wolf", "wolfe", "schulz", "schultz", "braun", "zimmermann", "kruger", "krueger", "lange",
    "krause", "rossi", "russo", "ferrari", "esposito", "bianchi", "romano", "ricci", "marino", "greco", "bruno",
    "conti", "costa", "santos", "silva", "pereira", "ferreira", "garcia", "martinez", "lopez", "gonzalez",
    "gonzales", "rodriguez", "rodrigues", "fernandez", "fernandes", "popov", "ivanov", "petrov", "kowalski", "nowak",
    "novak", "jansen", "janssen", "bakker", "visser", "peters", "peterson", "petersen", "nielsen", "hansen", "hanson",
    "larsen", "larson", "olsen", "olson", "papadopoulos", "horvath", "le", "pham", "huynh", "hoang", "phan", "wang",
    "wong", "zhang", "chang", "chen", "chan", "liu", "lau", "huang", "zhao", "wu", "woo", "zhou", "chow", "xu",
    "lin", "lim", "tan", "ng", "ong", "kim", "park", "choi", "kang", "tanaka", "suzuki", "sato", "saito",
    "watanabe", "yamamoto", "nakamura", "singh", "sharma", "patel", "kumar", "gupta", "khan", "shah", "das",
];
#[rustfmt::skip]
const STREET_NAMES: &[&str] = &[
    "stanley", "victoria", "george", "king", "queen", "elizabeth", "albert", "william", "church", "high", "main",
    "park", "station", "railway", "bridge", "mill", "school", "hill", "river", "lake", "ocean", "beach", "bay",
    "forest", "garden", "rose", "wattle", "banksia", "acacia", "jacaranda", "kurrajong", "waratah", "boronia",
    "grevillea", "hakea", "melaleuca", "kookaburra", "lyrebird", "macquarie", "hume", "flinders", "bligh",
    "phillip", "darling", "murray", "hawkesbury", "anzac", "federation", "jubilee", "coronation", "commonwealth",
    "edward", "mary", "charlotte", "alfred", "arthur", "henry", "james", "oxford", "cambridge", "windsor", "york",
    "kent", "devon", "somerset", "warwick", "chester", "clarence", "hamilton", "wellington", "nelson",
    "marlborough", "belmont", "fairview", "glenview", "hillside", "valley", "ridge", "summit", "sunset", "sunrise",
    "bellevue", "military", "pacific", "great western", "canterbury", "bourke", "collins", "swanston", "spencer",
    "lonsdale", "lygon", "gertrude", "crown", "sussex", "pitt", "castlereagh", "oxley", "sturt", "leichhardt",
    "kennedy", "burke", "wills", "lawson", "wentworth", "blaxland", "banks", "solander", "tasman", "dampier",
    "baudin", "barton", "deakin", "menzies", "curtin", "chifley", "lyons", "scullin", "whitlam", "hawke",
];
/// Street types, weighted roughly as they are common.
#[rustfmt::skip]
const STREET_TYPES: &[(&str, u32)] = &[
    ("street", 30), ("road", 18), ("avenue", 10), ("place", 10), ("crescent", 8), ("circuit", 4), ("close", 5),
    ("court", 5), ("drive", 6), ("parade", 4),
];
/// Buildings and estates of `address_2`.
#[rustfmt::skip]
const BUILDINGS: &[&str] = &[
    "miami", "wellcome house", "the pines", "cassia lodge", "willow grove", "kanimbla", "merriwee", "warrawee",
    "bungarra", "tallowwood", "the boulevard", "rosehill gardens", "woodlands", "moonah", "avondale", "ellerslie",
    "dunmore", "glenroy", "bayview", "strathmore", "greenhills", "pinewood", "brookvale estate", "emerald court",
    "hillcrest", "waverley", "hawthorn house", "mayfair", "carlton towers", "riverview", "seaview", "the elms",
    "yallambee", "araluen", "marama", "coolabah", "kooringal", "the grange", "lakeside village", "harbour views",
];

#[derive(Clone, Copy)]
struct State {
    name: &'static str,
    /// Each suburb's postcode is drawn from this range by its name.
    postcodes: (u32, u32),
    suburbs: &'static [&'static str],
}

/// States weighted roughly by population, each with its own suburbs (no name in two states, so
/// that a suburb has one postcode).
#[rustfmt::skip]
const STATES: &[(State, u32)] = &[
    (State { name: "nsw", postcodes: (2000, 2599), suburbs: &[
        "winston hills", "parramatta", "blacktown", "penrith", "liverpool", "campbelltown", "bankstown", "hurstville",
        "kogarah", "rockdale", "marrickville", "newtown", "glebe", "balmain", "leichhardt", "ashfield", "burwood",
        "strathfield", "homebush", "auburn", "granville", "merrylands", "fairfield", "cabramatta", "castle hill",
        "baulkham hills", "hornsby", "chatswood", "ryde", "epping", "eastwood", "carlingford", "dundas", "manly",
        "dee why", "mona vale", "bondi", "coogee", "randwick", "maroubra", "paddington", "surry hills", "redfern",
        "mascot", "cronulla", "sutherland", "miranda", "engadine", "gosford", "wyong", "newcastle", "maitland",
        "cessnock", "wollongong", "dapto", "nowra", "goulburn", "orange", "bathurst", "dubbo", "tamworth", "armidale",
        "lismore", "grafton", "albury", "wagga wagga",
    ] }, 32),
    (State { name: "vic", postcodes: (3000, 3999), suburbs: &[
        "richmond", "fitzroy", "carlton", "brunswick", "coburg", "preston", "reservoir", "northcote", "thornbury",
        "footscray", "sunshine", "st albans", "werribee", "hoppers crossing", "frankston", "dandenong", "springvale",
        "clayton", "box hill", "doncaster", "ringwood", "croydon", "lilydale", "camberwell", "hawthorn", "kew",
        "malvern", "caulfield", "st kilda", "brighton", "cheltenham", "geelong", "ballarat", "bendigo", "mildura",
    ] }, 25),
    (State { name: "qld", postcodes: (4000, 4899), suburbs: &[
        "toowong", "indooroopilly", "chermside", "aspley", "carindale", "mount gravatt", "sunnybank", "logan",
        "ipswich", "redcliffe", "caboolture", "southport", "surfers paradise", "robina", "nerang", "toowoomba",
        "cairns", "townsville", "mackay", "rockhampton", "bundaberg", "maroochydore", "noosa heads", "hervey bay",
    ] }, 20),
    (State { name: "wa", postcodes: (6000, 6799), suburbs: &[
        "fremantle", "subiaco", "joondalup", "midland", "armadale", "rockingham", "mandurah", "bunbury", "geraldton",
        "kalgoorlie", "scarborough", "cottesloe",
    ] }, 10),
    (State { name: "sa", postcodes: (5000, 5799), suburbs: &[
        "glenelg", "norwood", "unley", "prospect", "elizabeth", "salisbury", "modbury", "marion", "morphett vale",
        "mount gambier", "whyalla",
    ] }, 8),
    (State { name: "tas", postcodes: (7000, 7399), suburbs: &[
        "hobart", "sandy bay", "launceston", "devonport", "burnie", "glenorchy",
    ] }, 2),
    (State { name: "act", postcodes: (2600, 2620), suburbs: &[
        "belconnen", "tuggeranong", "woden", "weston creek", "gungahlin", "kambah",
    ] }, 2),
    (State { name: "nt", postcodes: (800, 899), suburbs: &[
        "darwin", "palmerston", "casuarina", "alice springs", "katherine",
    ] }, 1),
];

/// Neighbouring keys on a QWERTY keyboard, digits' included.
#[rustfmt::skip]
const KEYBOARD: &[(char, &str)] = &[
    ('a', "qwsz"), ('b', "vghn"), ('c', "xdfv"), ('d', "serfcx"), ('e', "wsdr34"), ('f', "drtgvc"), ('g', "ftyhbv"),
    ('h', "gyujnb"), ('i', "ujko89"), ('j', "huikmn"), ('k', "jiolm"), ('l', "kop"), ('m', "njk"), ('n', "bhjm"),
    ('o', "iklp90"), ('p', "ol0"), ('q', "wa12"), ('r', "edft45"), ('s', "awedxz"), ('t', "rfgy56"), ('u', "yhji78"),
    ('v', "cfgb"), ('w', "qase23"), ('x', "zsdc"), ('y', "tghu67"), ('z', "asx"), ('0', "9po"), ('1', "2q"),
    ('2', "13qw"), ('3', "24we"), ('4', "35er"), ('5', "46rt"), ('6', "57ty"), ('7', "68yu"), ('8', "79ui"),
    ('9', "80io"),
];
/// Characters an OCR engine takes for others, both ways where the mistake is made both ways.
#[rustfmt::skip]
const OCR: &[(&str, &str)] = &[
    ("o", "0"), ("0", "o"), ("l", "1"), ("1", "l"), ("i", "l"), ("l", "i"), ("m", "rn"), ("rn", "m"), ("s", "5"),
    ("5", "s"), ("b", "6"), ("6", "b"), ("g", "9"), ("9", "g"), ("z", "2"), ("2", "z"), ("e", "c"), ("c", "e"),
    ("d", "cl"), ("cl", "d"), ("h", "b"), ("u", "v"), ("v", "u"), ("8", "b"), ("1", "7"), ("7", "1"), ("3", "8"),
    ("8", "3"),
];
/// Spellings that sound alike, so a name heard rather than read is written either way.
#[rustfmt::skip]
const PHONETIC: &[(&str, &str)] = &[
    ("ph", "f"), ("f", "ph"), ("ck", "k"), ("ck", "c"), ("y", "i"), ("i", "y"), ("ie", "y"), ("ey", "ie"),
    ("ee", "ea"), ("ea", "ee"), ("th", "t"), ("sch", "sh"), ("sh", "sch"), ("c", "k"), ("k", "c"), ("z", "s"),
    ("s", "z"), ("mm", "m"), ("nn", "n"), ("ll", "l"), ("tt", "t"), ("l", "ll"), ("w", "v"), ("v", "w"),
    ("ai", "ay"), ("ay", "ai"), ("ou", "ow"), ("gh", ""), ("dt", "t"), ("ue", "u"), ("x", "ks"), ("qu", "kw"),
];

/// One row of a linkage set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkageRecord {
    /// Values in the order of [`LINKAGE_COLUMNS`]; a missing value is empty, as FEBRL writes it.
    pub values: [String; 11],
}

impl LinkageRecord {
    /// The value of `column`, one of [`LINKAGE_COLUMNS`].
    pub fn get(&self, column: &str) -> Option<&str> {
        let index = LINKAGE_COLUMNS.iter().position(|name| *name == column)?;
        Some(self.values[index].as_str())
    }
}

/// Originals, their duplicates, and which is which.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkageSet {
    /// `rec-N-org` for N in `0..originals`, in order.
    pub originals: Vec<LinkageRecord>,
    /// `rec-N-dup-0`, one per original, shuffled.
    pub duplicates: Vec<LinkageRecord>,
    /// `truth[i]` is the index in `originals` of `duplicates[i]`'s original.
    pub truth: Vec<usize>,
}

/// `originals` people and one damaged duplicate of each, deterministic for `seed`. A duplicate
/// has one to four damages (2.5 on average, at most one field damaged twice) and always differs
/// from its original. `soc_sec_id`s are unique among up to 9,000,000 originals.
pub fn linkage_set(originals: usize, seed: u64) -> LinkageSet {
    let mut rng = StdRng::seed_from_u64(mix(seed ^ 0xfeb1_0004));
    let people: Vec<LinkageRecord> = (0..originals).map(|index| original(index, seed, &mut rng)).collect();
    let mut truth: Vec<usize> = (0..originals).collect();
    truth.shuffle(&mut rng);
    let duplicates = truth
        .iter()
        .map(|&index| duplicate(&people[index], index, &mut rng))
        .collect();
    LinkageSet {
        originals: people,
        duplicates,
        truth,
    }
}

/// Writes `records` as FEBRL writes its data sets: a header line, then a line per record, names
/// and values separated by a comma and a space (readers must strip it), a missing value empty.
pub fn write_linkage_csv(path: &Path, records: &[LinkageRecord]) -> io::Result<()> {
    let mut out = BufWriter::new(File::create(path)?);
    writeln!(out, "{}", LINKAGE_COLUMNS.join(", "))?;
    for record in records {
        writeln!(out, "{}", record.values.join(", "))?;
    }
    out.flush()
}

fn original(index: usize, seed: u64, rng: &mut StdRng) -> LinkageRecord {
    let state = weighted(STATES, rng);
    let suburb = state.suburbs.choose(rng).copied().unwrap_or_default();
    let street_number: u32 = match rng.random_range(0..10) {
        // Most houses are in the first blocks of a street.
        0..6 => rng.random_range(1..=50),
        6..9 => rng.random_range(1..=250),
        _ => rng.random_range(1..=999),
    };
    let street = STREET_NAMES.choose(rng).copied().unwrap_or_default();
    let address_2 = if rng.random_bool(0.4) {
        ""
    } else {
        BUILDINGS.choose(rng).copied().unwrap_or_default()
    };
    let year: u32 = rng.random_range(1920..=2005);
    let month: u32 = rng.random_range(1..=12);
    let day = rng.random_range(1..=days_in_month(year, month));
    // A bijection of the index (7,919 is coprime with 9,000,000) keeps the numbers unique.
    let soc_sec_id = 1_000_000 + ((index as u64 % 9_000_000) * 7_919 + mix(seed) % 9_000_000) % 9_000_000;
    LinkageRecord {
        values: [
            format!("rec-{index}-org"),
            skewed(GIVEN_NAMES, rng).to_string(),
            skewed(SURNAMES, rng).to_string(),
            street_number.to_string(),
            format!("{street} {}", weighted(STREET_TYPES, rng)),
            address_2.to_string(),
            suburb.to_string(),
            postcode(suburb, state.postcodes),
            state.name.to_string(),
            format!("{year}{month:02}{day:02}"),
            soc_sec_id.to_string(),
        ],
    }
}

/// Early entries of `list` come up more often, as common names do.
fn skewed(list: &'static [&'static str], rng: &mut StdRng) -> &'static str {
    let at = (rng.random::<f64>().powf(1.5) * list.len() as f64) as usize;
    list[at.min(list.len() - 1)]
}

fn weighted<T: Copy>(choices: &[(T, u32)], rng: &mut StdRng) -> T {
    let mut draw = rng.random_range(0..choices.iter().map(|(_, weight)| weight).sum::<u32>());
    for &(choice, weight) in choices {
        if draw < weight {
            return choice;
        }
        draw -= weight;
    }
    choices[0].0
}

/// The suburb's own postcode, from a hash of its name (FNV-1a), so it is the same in every set.
fn postcode(suburb: &str, (low, high): (u32, u32)) -> String {
    let hash = suburb.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{:04}", low + (hash % u64::from(high - low + 1)) as u32)
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn duplicate(original: &LinkageRecord, index: usize, rng: &mut StdRng) -> LinkageRecord {
    let mut values = original.values.clone();
    values[REC_ID] = format!("rec-{index}-dup-0");
    let mut fields: Vec<usize> = (GIVEN_NAME..=SOC_SEC_ID)
        .filter(|&field| !values[field].is_empty())
        .collect();
    fields.shuffle(rng);
    let damages = weighted(&[(1, 15), (2, 35), (3, 35), (4, 15)], rng);
    fields.truncate(damages);
    // As in FEBRL, at most one field is damaged twice.
    if fields.len() > 1 && rng.random_bool(0.2) {
        let first = fields[0];
        fields.pop();
        fields.push(first);
    }
    let mut swapped = false;
    for field in fields {
        if values[field].is_empty() {
            continue; // emptied by its first damage
        }
        // Once only: a second swap would undo the first.
        if (field == GIVEN_NAME || field == SURNAME) && !swapped && rng.random_bool(0.15) {
            values.swap(GIVEN_NAME, SURNAME);
            swapped = true;
        } else {
            values[field] = damage(field, &values[field], rng);
        }
    }
    if values[GIVEN_NAME..] == original.values[GIVEN_NAME..] {
        // The damages undid each other (a swap of equal names, o→0 then 0→o): one more that shows.
        values[SOC_SEC_ID] = typo(&values[SOC_SEC_ID], true, true, rng).unwrap_or_default();
    }
    LinkageRecord { values }
}

#[derive(Clone, Copy)]
enum Damage {
    Missing,
    Typo,
    Ocr,
    Phonetic,
    DayMonthSwap,
    Renumber,
    /// Another value of the column altogether (a nickname or a new surname, a date or an ID
    /// copied from the wrong line), as FEBRL's value swaps.
    Replaced,
    /// A space slipped into a word or dropped between two (`grund p lace`, `littledale`).
    Spacing,
}

/// `value` of column `field` damaged once; never the same value.
fn damage(field: usize, value: &str, rng: &mut StdRng) -> String {
    use Damage::*;
    let kinds: &[(Damage, u32)] = match field {
        GIVEN_NAME | SURNAME => &[
            (Missing, 10),
            (Typo, 35),
            (Ocr, 15),
            (Phonetic, 25),
            (Replaced, 10),
            (Spacing, 5),
        ],
        ADDRESS_1 | SUBURB => &[(Missing, 10), (Typo, 40), (Ocr, 20), (Phonetic, 20), (Spacing, 10)],
        ADDRESS_2 => &[(Missing, 30), (Typo, 40), (Ocr, 20), (Spacing, 10)],
        STREET_NUMBER => &[(Missing, 15), (Typo, 35), (Ocr, 15), (Renumber, 35)],
        STATE => &[(Missing, 60), (Typo, 40)],
        DATE_OF_BIRTH => &[(Missing, 10), (Typo, 30), (Ocr, 15), (DayMonthSwap, 35), (Replaced, 10)],
        SOC_SEC_ID => &[(Missing, 10), (Typo, 65), (Ocr, 15), (Replaced, 10)],
        _ => &[(Missing, 10), (Typo, 75), (Ocr, 15)],
    };
    let digits_only = matches!(field, STREET_NUMBER | POSTCODE | DATE_OF_BIRTH | SOC_SEC_ID);
    // A date keeps its eight digits and an ID its seven: one digit changed or two transposed.
    let keep_length = matches!(field, DATE_OF_BIRTH | SOC_SEC_ID);
    let damaged = match weighted(kinds, rng) {
        Missing => Some(String::new()),
        Typo => typo(value, digits_only, keep_length, rng),
        Ocr => respell(value, OCR, rng),
        Phonetic => respell(value, PHONETIC, rng),
        DayMonthSwap => swap_day_month(value),
        Renumber => Some(rng.random_range(1..=999_u32).to_string()),
        Replaced => Some(match field {
            GIVEN_NAME => skewed(GIVEN_NAMES, rng).to_string(),
            SURNAME => skewed(SURNAMES, rng).to_string(),
            DATE_OF_BIRTH => {
                let (year, month) = (rng.random_range(1920..=2005), rng.random_range(1..=12));
                format!(
                    "{year}{month:02}{:02}",
                    rng.random_range(1..=days_in_month(year, month))
                )
            }
            _ => rng.random_range(1_000_000..10_000_000_u32).to_string(),
        }),
        Spacing => respace(value, rng),
    };
    match damaged {
        Some(damaged) if damaged != value => damaged,
        // The damage drawn had nothing to work on: a mistyped key always changes the value.
        _ => typo(value, digits_only, true, rng).unwrap_or_default(),
    }
}

/// The value with its first space dropped, or a space put inside a word of three letters or more.
fn respace(value: &str, rng: &mut StdRng) -> Option<String> {
    if let Some(at) = value.find(' ')
        && rng.random_bool(0.5)
    {
        return Some(format!("{}{}", &value[..at], &value[at + 1..]));
    }
    let chars: Vec<char> = value.chars().collect();
    if chars.len() < 3 {
        return None;
    }
    let at = rng.random_range(1..chars.len() - 1);
    (chars[at - 1] != ' ' && chars[at] != ' ').then(|| {
        let (head, tail) = chars.split_at(at);
        format!(
            "{} {}",
            head.iter().collect::<String>(),
            tail.iter().collect::<String>()
        )
    })
}

/// A keyboard slip: a neighbouring key struck instead, or two keys in the wrong order, and unless
/// `keep_length` a neighbouring key struck as well or a key missed. None if no key has neighbours.
fn typo(value: &str, digits_only: bool, keep_length: bool, rng: &mut StdRng) -> Option<String> {
    let mut chars: Vec<char> = value.chars().collect();
    let keys: Vec<usize> = (0..chars.len())
        .filter(|&at| !near_keys(chars[at], digits_only).is_empty())
        .collect();
    let &at = keys.choose(rng)?;
    let transposable = [at + 1, at.wrapping_sub(1)]
        .into_iter()
        .find(|&other| other < chars.len() && chars[other] != chars[at] && chars[other].is_ascii_alphanumeric());
    match (rng.random_range(0..if keep_length { 2 } else { 4 }), transposable) {
        (1, Some(other)) => chars.swap(at, other),
        (2, _) => {
            let extra = *near_keys(chars[at], digits_only).choose(rng)?;
            chars.insert(at + 1, extra);
        }
        (3, _) if chars.len() > 1 => {
            chars.remove(at);
        }
        _ => chars[at] = *near_keys(chars[at], digits_only).choose(rng)?,
    }
    Some(chars.into_iter().collect())
}

fn near_keys(key: char, digits_only: bool) -> Vec<char> {
    KEYBOARD
        .iter()
        .find(|(from, _)| *from == key)
        .map(|(_, near)| {
            near.chars()
                .filter(|near| !digits_only || near.is_ascii_digit())
                .collect()
        })
        .unwrap_or_default()
}

/// One occurrence of one rule's left side replaced by its right. None if no rule applies.
fn respell(value: &str, rules: &[(&'static str, &'static str)], rng: &mut StdRng) -> Option<String> {
    let places: Vec<(usize, &str, &str)> = rules
        .iter()
        .flat_map(move |&(from, to)| value.match_indices(from).map(move |(at, _)| (at, from, to)))
        .collect();
    let &(at, from, to) = places.choose(rng)?;
    Some(format!("{}{to}{}", &value[..at], &value[at + from.len()..]))
}

/// YYYYMMDD written as YYYYDDMM, where that is another date.
fn swap_day_month(date: &str) -> Option<String> {
    if date.len() != 8 || !date.is_ascii() {
        return None;
    }
    let (year, month, day) = (&date[..4], &date[4..6], &date[6..]);
    (day != month && day.parse::<u32>().ok()? <= 12).then(|| format!("{year}{day}{month}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};

    #[test]
    fn sets_are_deterministic_for_a_seed() {
        assert_eq!(linkage_set(300, 7), linkage_set(300, 7));
        assert_ne!(linkage_set(300, 7), linkage_set(300, 8));
    }

    #[test]
    fn each_original_has_one_shuffled_damaged_duplicate() {
        let set = linkage_set(2000, 3);
        assert_eq!((set.originals.len(), set.duplicates.len()), (2000, 2000));
        let mut order = set.truth.clone();
        order.sort_unstable();
        assert_eq!(order, (0..2000).collect::<Vec<_>>());
        assert_ne!(set.truth, order, "duplicates are shuffled");
        let mut damaged = 0;
        for (duplicate, &index) in set.duplicates.iter().zip(&set.truth) {
            let original = &set.originals[index];
            assert_eq!(original.get("rec_id"), Some(format!("rec-{index}-org").as_str()));
            assert_eq!(duplicate.get("rec_id"), Some(format!("rec-{index}-dup-0").as_str()));
            let differing = (GIVEN_NAME..=SOC_SEC_ID)
                .filter(|&field| duplicate.values[field] != original.values[field])
                .count();
            assert!(differing > 0, "{duplicate:?} equals its original");
            damaged += differing;
        }
        let mean = damaged as f64 / 2000.0;
        assert!((1.5..3.5).contains(&mean), "{mean} damaged fields a duplicate");
    }

    #[test]
    fn originals_have_unique_ids_shared_names_and_a_postcode_per_suburb() {
        let set = linkage_set(5000, 1);
        let ids: HashSet<&str> = set
            .originals
            .iter()
            .map(|record| record.values[SOC_SEC_ID].as_str())
            .collect();
        assert_eq!(ids.len(), 5000);
        assert!(
            ids.iter()
                .all(|id| id.len() == 7 && id.bytes().all(|byte| byte.is_ascii_digit()))
        );
        // Common surnames are common: the commonest is shared by many times the average share.
        let mut surnames: HashMap<&str, usize> = HashMap::new();
        for record in &set.originals {
            *surnames.entry(record.values[SURNAME].as_str()).or_default() += 1;
        }
        let commonest = surnames.values().max().copied().unwrap_or_default();
        assert!(
            commonest > 2 * 5000 / SURNAMES.len(),
            "{commonest} share the commonest surname"
        );
        let mut postcodes = HashMap::new();
        for record in &set.originals {
            let postcode = postcodes
                .entry(record.values[SUBURB].as_str())
                .or_insert(record.values[POSTCODE].as_str());
            assert_eq!(*postcode, record.values[POSTCODE].as_str());
            assert_eq!(record.values[DATE_OF_BIRTH].len(), 8);
        }
    }

    #[test]
    fn csv_is_written_as_febrl_writes_it() -> io::Result<()> {
        let set = linkage_set(50, 2);
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("duplicates.csv");
        write_linkage_csv(&path, &set.duplicates)?;
        let text = std::fs::read_to_string(&path)?;
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            concat!(
                "rec_id, given_name, surname, street_number, address_1, address_2, suburb, postcode, state, ",
                "date_of_birth, soc_sec_id"
            )
        );
        assert_eq!(lines.len(), 51);
        for (line, record) in lines[1..].iter().zip(&set.duplicates) {
            let values: Vec<&str> = line.split(", ").collect();
            assert_eq!(values, record.values.iter().map(String::as_str).collect::<Vec<_>>());
        }
        Ok(())
    }
}
