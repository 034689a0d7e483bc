//! Synthetic corpora for `leakdex gen`, the tests, the benches and the demo: Indian-style people
//! in several dump formats, with known overlaps. Deterministic for a seed; memory stays flat whatever the record count, because each
//! person is derived from their index alone.
//!
//! Corpora (each `records` long) draw people from overlapping windows of one population, so which
//! corpora share which people is known exactly (written to `gen-manifest.json`):
//!
//! | file | format | people |
//! |---|---|---|
//! | `vaccination.csv` | CSV, header, some quoted names | `[0, n)` |
//! | `telecom_kyc.tsv.gz` | TSV, other column names, gzip | `[n/2, 3n/2)` |
//! | `shop_orders.jsonl` | nested JSON Lines with arrays | `[n/4, 5n/4)` |
//! | `combo_list.txt` | `email:password` | `[n/8, 9n/8)` |
//! | `legacy_portal.sql` | MySQL dump, multi-row INSERT | `[3n/4, 7n/4)` |
//!
//! [`write_shapes`] adds dumps of the shapes real leaks come in and wave 1 misread: a JSON
//! document, mixed and labelled identifiers, a dump split into schema and data.

mod linkage;

pub use linkage::{LINKAGE_COLUMNS, LinkageRecord, LinkageSet, linkage_set, write_linkage_csv};

use crate::ingest::normalize::verhoeff_check_digit;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng, rngs::StdRng};
use serde::Serialize;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

const MALE: &[&str] = &[
    "Rahul",
    "Amit",
    "Suresh",
    "Rajesh",
    "Vikram",
    "Arjun",
    "Sanjay",
    "Anil",
    "Manoj",
    "Ravi",
    "Deepak",
    "Kiran",
    "Mohammed",
    "Imran",
    "Harpreet",
    "Gurpreet",
    "Venkatesh",
    "Srinivas",
    "Prakash",
    "Ramesh",
    "Arun",
    "Vijay",
    "Nitin",
    "Rohit",
    "Sachin",
    "Abdul",
    "Joseph",
    "Thomas",
    "Karthik",
    "Ganesh",
];
const FEMALE: &[&str] = &[
    "Priya", "Anjali", "Sunita", "Pooja", "Neha", "Kavita", "Lakshmi", "Meena", "Divya", "Fatima", "Ayesha", "Simran",
    "Harleen", "Shreya", "Sneha", "Asha", "Rekha", "Geeta", "Sarita", "Nisha", "Deepika", "Swati", "Mary", "Anita",
    "Radha", "Jyoti", "Pallavi", "Aarti", "Shalini", "Bhavana",
];
const SURNAMES: &[&str] = &[
    "Sharma",
    "Verma",
    "Patel",
    "Singh",
    "Kumar",
    "Gupta",
    "Reddy",
    "Rao",
    "Nair",
    "Iyer",
    "Khan",
    "Shaikh",
    "Das",
    "Banerjee",
    "Chatterjee",
    "Mukherjee",
    "Joshi",
    "Kulkarni",
    "Deshmukh",
    "Pillai",
    "Menon",
    "Yadav",
    "Jadhav",
    "Patil",
    "Mehta",
    "Shah",
    "Agarwal",
    "Mishra",
    "Pandey",
    "Tiwari",
    "D'Souza",
    "Fernandes",
    "Gill",
    "Sandhu",
    "Naidu",
    "Hegde",
];
/// (district, state, pincode prefix).
const PLACES: &[(&str, &str, u32)] = &[
    ("Pune", "Maharashtra", 411),
    ("Mumbai", "Maharashtra", 400),
    ("Nagpur", "Maharashtra", 440),
    ("New Delhi", "Delhi", 110),
    ("Bengaluru Urban", "Karnataka", 560),
    ("Mysuru", "Karnataka", 570),
    ("Chennai", "Tamil Nadu", 600),
    ("Coimbatore", "Tamil Nadu", 641),
    ("Hyderabad", "Telangana", 500),
    ("Kolkata", "West Bengal", 700),
    ("Lucknow", "Uttar Pradesh", 226),
    ("Patna", "Bihar", 800),
    ("Jaipur", "Rajasthan", 302),
    ("Ahmedabad", "Gujarat", 380),
    ("Ernakulam", "Kerala", 682),
    ("Ludhiana", "Punjab", 141),
    ("Bhopal", "Madhya Pradesh", 462),
    ("Guwahati", "Assam", 781),
];
const STREETS: &[&str] = &[
    "MG Road",
    "Station Road",
    "Gandhi Nagar",
    "Nehru Street",
    "Park Avenue",
    "Temple Road",
    "Main Bazaar",
    "Lake View Colony",
    "Sector 12",
    "Shivaji Chowk",
    "Laxmi Nagar",
    "Civil Lines",
];
const BUILDINGS: &[&str] = &[
    "Sai Kripa",
    "Shanti Niwas",
    "Om Residency",
    "Green Park",
    "Krishna Apartments",
    "Ganga Heights",
];
const DOMAINS: &[&str] = &[
    "gmail.com",
    "yahoo.co.in",
    "rediffmail.com",
    "outlook.com",
    "hotmail.com",
];
/// Two-digit mobile prefixes that are fully allocated in the numbering plan.
const MOBILE_PREFIXES: &[&str] = &[
    "98", "97", "96", "94", "93", "99", "90", "88", "89", "70", "73", "80", "81", "63",
];
const WORDS: &[&str] = &[
    "sunshine", "dragon", "cricket", "monkey", "india", "password", "qwerty", "welcome", "shadow", "tiger", "mumbai",
    "krishna",
];

/// One synthetic person, derived from (seed, index) alone.
#[derive(Clone, Debug)]
pub struct Person {
    pub index: u64,
    pub first: &'static str,
    pub last: &'static str,
    pub male: bool,
    pub birth: (u32, u32, u32),
    /// Ten national digits.
    pub mobile: String,
    pub aadhaar: String,
    pub pan: String,
    pub email: String,
    pub house: String,
    pub district: &'static str,
    pub state: &'static str,
    pub pincode: u32,
    pub password: String,
}

impl Person {
    pub fn new(seed: u64, index: u64) -> Person {
        let mut rng = StdRng::seed_from_u64(mix(seed ^ index.wrapping_mul(0x9e37_79b9_7f4a_7c15)));
        let male = rng.random_bool(0.5);
        let first = *(if male { MALE } else { FEMALE }).choose(&mut rng).unwrap_or(&"Asha");
        let last = *SURNAMES.choose(&mut rng).unwrap_or(&"Kumar");
        let birth = (
            rng.random_range(1950..=2006),
            rng.random_range(1..=12),
            rng.random_range(1..=28),
        );
        // Bijections of the index keep phones and Aadhaar numbers unique (the multipliers are
        // coprime with the moduli).
        let prefix = MOBILE_PREFIXES.choose(&mut rng).unwrap_or(&"98");
        let mobile = format!(
            "{prefix}{:08}",
            (index.wrapping_mul(48_271).wrapping_add(12_345)) % 100_000_000
        );
        let base = 20_000_000_000 + (index.wrapping_mul(7_919).wrapping_add(104_729)) % 80_000_000_000;
        let base = base.to_string();
        let aadhaar = format!("{base}{}", verhoeff_check_digit(&base));
        let letters = |rng: &mut StdRng, count| -> String {
            (0..count)
                .map(|_| char::from(b'A' + rng.random_range(0..26u8)))
                .collect()
        };
        let pan = format!(
            "{}P{}{:04}{}",
            letters(&mut rng, 3),
            last.chars().next().unwrap_or('K'),
            rng.random_range(0..10_000),
            letters(&mut rng, 1)
        );
        let domain = DOMAINS.choose(&mut rng).unwrap_or(&"gmail.com");
        let email = format!(
            "{}.{}{}@{domain}",
            first.to_lowercase(),
            last.to_lowercase().replace('\'', ""),
            index
        );
        let (district, state, pin_prefix) = *PLACES.choose(&mut rng).unwrap_or(&PLACES[0]);
        let house = format!(
            "{}, {}, {}",
            rng.random_range(1..400),
            BUILDINGS.choose(&mut rng).unwrap_or(&"Sai Kripa"),
            STREETS.choose(&mut rng).unwrap_or(&"MG Road")
        );
        let password = format!(
            "{}{}",
            WORDS.choose(&mut rng).unwrap_or(&"india"),
            rng.random_range(1..9999)
        );
        Person {
            index,
            first,
            last,
            male,
            birth,
            mobile,
            aadhaar,
            pan,
            email,
            house,
            district,
            state,
            pincode: pin_prefix * 1000 + rng.random_range(1..100),
            password,
        }
    }

    pub fn name(&self) -> String {
        format!("{} {}", self.first, self.last)
    }
}

fn mix(mut value: u64) -> u64 {
    // splitmix64 finalizer: spreads nearby indexes over the seed space.
    value = (value ^ (value >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    value = (value ^ (value >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    value ^ (value >> 31)
}

/// The corpora `gen` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Corpus {
    Vaccination,
    TelecomKyc,
    ShopOrders,
    ComboList,
    LegacyPortal,
}

impl Corpus {
    pub const ALL: [Corpus; 5] = [
        Corpus::Vaccination,
        Corpus::TelecomKyc,
        Corpus::ShopOrders,
        Corpus::ComboList,
        Corpus::LegacyPortal,
    ];

    pub fn file_name(self) -> &'static str {
        match self {
            Corpus::Vaccination => "vaccination.csv",
            Corpus::TelecomKyc => "telecom_kyc.tsv.gz",
            Corpus::ShopOrders => "shop_orders.jsonl",
            Corpus::ComboList => "combo_list.txt",
            Corpus::LegacyPortal => "legacy_portal.sql",
        }
    }

    /// First person of this corpus's window, for `records` records per corpus.
    pub fn first_person(self, records: u64) -> u64 {
        match self {
            Corpus::Vaccination => 0,
            Corpus::TelecomKyc => records / 2,
            Corpus::ShopOrders => records / 4,
            Corpus::ComboList => records / 8,
            Corpus::LegacyPortal => records * 3 / 4,
        }
    }

    /// Writes `records` records of this corpus (uncompressed; `generate` gzips the TSV).
    pub fn write(self, out: &mut dyn Write, records: u64, seed: u64) -> io::Result<()> {
        let first = self.first_person(records);
        let people = (first..first + records).map(|index| (Person::new(seed, index), self.record_rng(seed, index)));
        match self {
            Corpus::Vaccination => write_vaccination(out, people),
            Corpus::TelecomKyc => write_telecom(out, people),
            Corpus::ShopOrders => write_shop(out, people),
            Corpus::ComboList => write_combo(out, people),
            Corpus::LegacyPortal => write_sql(out, people),
        }
    }

    /// The randomness of one person's record in this corpus, derived from (seed, corpus, person)
    /// alone, so a suspect sample can copy a record's corpus-specific values without replaying
    /// the corpus.
    fn record_rng(self, seed: u64, index: u64) -> StdRng {
        StdRng::seed_from_u64(mix(seed
            ^ (self as u64 + 1).wrapping_mul(0xa076_1d64_78bd_642f)
            ^ index.wrapping_mul(0xe703_7ed1_a0b4_28db)))
    }

    /// The 1-based record ordinal of person `index` in this corpus (one record a person, in order).
    pub fn ordinal_of(self, records: u64, index: u64) -> Option<u64> {
        let first = self.first_person(records);
        (first..first + records).contains(&index).then(|| index - first + 1)
    }
}

/// The values of a vaccination record that are not the person's own.
struct VaccinationExtras {
    quoted_name: bool,
    masked_id: bool,
    vaccine: &'static str,
    dose: (u32, u32),
}

impl VaccinationExtras {
    fn draw(rng: &mut StdRng) -> VaccinationExtras {
        VaccinationExtras {
            quoted_name: rng.random_bool(0.05),
            masked_id: !rng.random_bool(0.8),
            vaccine: if rng.random_bool(0.7) { "COVISHIELD" } else { "COVAXIN" },
            dose: (rng.random_range(1..=12), rng.random_range(1..=28)),
        }
    }

    fn id(&self, person: &Person) -> String {
        if self.masked_id {
            format!("XXXXXXXX{}", &person.aadhaar[8..])
        } else {
            spaced_aadhaar(&person.aadhaar)
        }
    }
}

/// The values of a telecom record that are not the person's own.
struct TelecomExtras {
    titled: bool,
    father: &'static str,
    activation: (u32, u32, u32),
}

impl TelecomExtras {
    fn draw(rng: &mut StdRng) -> TelecomExtras {
        TelecomExtras {
            titled: rng.random_bool(0.3),
            father: MALE.choose(rng).unwrap_or(&"Ramesh"),
            activation: (
                rng.random_range(10..=23),
                rng.random_range(1..=12),
                rng.random_range(1..=28),
            ),
        }
    }

    fn father_name(&self, person: &Person) -> String {
        format!("{} {}", self.father.to_uppercase(), person.last.to_uppercase())
    }

    fn address(person: &Person) -> String {
        format!("{}, {} - {}", person.house, person.district, person.pincode)
    }
}

fn spaced_aadhaar(aadhaar: &str) -> String {
    format!("{} {} {}", &aadhaar[..4], &aadhaar[4..8], &aadhaar[8..])
}

fn write_vaccination(out: &mut dyn Write, people: impl Iterator<Item = (Person, StdRng)>) -> io::Result<()> {
    writeln!(
        out,
        "beneficiary_reference_id,name,gender,birth_year,mobile_number,photo_id_type,photo_id_number,district,state,pincode,vaccine,dose1_date"
    )?;
    for (person, mut rng) in people {
        let extras = VaccinationExtras::draw(&mut rng);
        let name = if extras.quoted_name {
            format!("\"{}, {}\"", person.last, person.first)
        } else {
            person.name()
        };
        writeln!(
            out,
            "{},{name},{},{},{},Aadhaar Card,{},{},{},{},{},2021-{:02}-{:02}",
            10_000_000_000_000u64 + person.index,
            if person.male { "Male" } else { "Female" },
            person.birth.0,
            person.mobile,
            extras.id(&person),
            person.district,
            person.state,
            person.pincode,
            extras.vaccine,
            extras.dose.0,
            extras.dose.1,
        )?;
    }
    Ok(())
}

fn write_telecom(out: &mut dyn Write, people: impl Iterator<Item = (Person, StdRng)>) -> io::Result<()> {
    writeln!(
        out,
        "msisdn\tsubscriber_name\tfather_name\tdob\taadhaar_no\taddress\tcircle\tactivation_date"
    )?;
    for (person, mut rng) in people {
        let extras = TelecomExtras::draw(&mut rng);
        let honorific = if person.male { "SHRI " } else { "SMT " };
        let title = if extras.titled { honorific } else { "" };
        writeln!(
            out,
            "91{}\t{title}{}\t{}\t{:02}/{:02}/{}\t{}\t{}\t{}\t20{:02}-{:02}-{:02}",
            person.mobile,
            person.name().to_uppercase(),
            extras.father_name(&person),
            person.birth.2,
            person.birth.1,
            person.birth.0,
            person.aadhaar,
            TelecomExtras::address(&person),
            person.state,
            extras.activation.0,
            extras.activation.1,
            extras.activation.2,
        )?;
    }
    Ok(())
}

fn write_shop(out: &mut dyn Write, people: impl Iterator<Item = (Person, StdRng)>) -> io::Result<()> {
    for (person, mut rng) in people {
        let rng = &mut rng;
        let mobile = &person.mobile;
        let phone = match rng.random_range(0..4) {
            0 => format!("+91 {} {}", &mobile[..5], &mobile[5..]),
            1 => format!("0{}-{}", &mobile[..5], &mobile[5..]),
            2 => format!("(+91) {}-{}", &mobile[..5], &mobile[5..]),
            _ => format!("+91{mobile}"),
        };
        let items: Vec<serde_json::Value> = (0..rng.random_range(1..4))
            .map(|_| serde_json::json!({"sku": format!("SKU-{}", rng.random_range(1000..9999)), "qty": rng.random_range(1..5), "price": rng.random_range(99..9999)}))
            .collect();
        let order = serde_json::json!({
            "order_id": format!("OD{}", 100_000_000 + person.index),
            "placed_at": format!("2022-{:02}-{:02}T{:02}:{:02}:00Z", rng.random_range(1..=12), rng.random_range(1..=28), rng.random_range(0..24), rng.random_range(0..60)),
            "customer": {
                "full_name": person.name(),
                "email": if rng.random_bool(0.5) { person.email.to_uppercase() } else { person.email.clone() },
                "contact": {"mobile": phone},
            },
            "shipping": {"line1": person.house, "city": person.district, "state": person.state, "pin": person.pincode.to_string()},
            "items": items,
            "paid": rng.random_bool(0.9),
        });
        serde_json::to_writer(&mut *out, &order)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

fn write_combo(out: &mut dyn Write, people: impl Iterator<Item = (Person, StdRng)>) -> io::Result<()> {
    for (person, mut rng) in people {
        let password = if rng.random_bool(0.05) {
            format!("{}:{}", person.password, person.first)
        } else {
            person.password.clone()
        };
        writeln!(out, "{}:{password}", person.email)?;
    }
    Ok(())
}

fn sql_quote(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\'', "\\'")
}

fn write_sql(out: &mut dyn Write, people: impl Iterator<Item = (Person, StdRng)>) -> io::Result<()> {
    writeln!(
        out,
        "-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)\n--\n-- Host: localhost    Database: legacy_portal\n"
    )?;
    writeln!(out, "/*!40101 SET NAMES utf8mb4 */;\nDROP TABLE IF EXISTS `users`;")?;
    writeln!(
        out,
        "CREATE TABLE `users` (\n  `id` int NOT NULL AUTO_INCREMENT,\n  `full_name` varchar(100) NOT NULL,\n  `email` varchar(120) DEFAULT NULL,\n  `phone` varchar(20) DEFAULT NULL,\n  `pan` char(10) DEFAULT NULL,\n  `dob` date DEFAULT NULL,\n  `address` text COMMENT 'house, street (free text)',\n  `password_hash` char(32) NOT NULL,\n  `created_at` datetime DEFAULT NULL,\n  PRIMARY KEY (`id`),\n  UNIQUE KEY `email` (`email`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n"
    )?;
    writeln!(out, "LOCK TABLES `users` WRITE;")?;
    let mut in_statement = 0;
    for (position, (person, mut rng)) in people.enumerate() {
        if in_statement == 0 {
            write!(out, "INSERT INTO `users` VALUES ")?;
        } else {
            write!(out, ",")?;
        }
        let pan = if rng.random_bool(0.3) {
            "NULL".to_string()
        } else {
            format!("'{}'", person.pan)
        };
        let hash: String = (0..32)
            .map(|_| char::from(b"0123456789abcdef"[rng.random_range(0..16)]))
            .collect();
        let address = format!("{}, '{}'", person.house, person.district);
        write!(
            out,
            "({},'{}','{}','+91{}',{pan},'{}-{:02}-{:02}','{}','{hash}','2019-{:02}-{:02} 10:00:00')",
            position + 1,
            sql_quote(&person.name()),
            person.email,
            person.mobile,
            person.birth.0,
            person.birth.1,
            person.birth.2,
            sql_quote(&address),
            rng.random_range(1..=12),
            rng.random_range(1..=28),
        )?;
        in_statement += 1;
        if in_statement == 500 {
            writeln!(out, ";")?;
            in_statement = 0;
        }
    }
    if in_statement > 0 {
        writeln!(out, ";")?;
    }
    writeln!(out, "UNLOCK TABLES;")?;
    Ok(())
}

/// What `gen` wrote, with the known overlaps between corpora.
#[derive(Debug, Serialize)]
pub struct Manifest {
    pub seed: u64,
    pub records_per_corpus: u64,
    pub corpora: Vec<CorpusEntry>,
    /// Number of people present in both corpora, for every pair.
    pub overlaps: Vec<Overlap>,
}

#[derive(Debug, Serialize)]
pub struct CorpusEntry {
    pub corpus: Corpus,
    pub file: String,
    pub records: u64,
    /// Window of person indexes `[start, end)`.
    pub people: [u64; 2],
}

#[derive(Debug, Serialize)]
pub struct Overlap {
    pub a: Corpus,
    pub b: Corpus,
    pub people: u64,
}

/// Writes every corpus into `dir` (created if needed) and `gen-manifest.json` beside them.
pub fn generate(dir: &Path, records: u64, seed: u64) -> io::Result<Manifest> {
    std::fs::create_dir_all(dir)?;
    let corpora: Vec<CorpusEntry> = Corpus::ALL
        .iter()
        .map(|&corpus| {
            let start = corpus.first_person(records);
            CorpusEntry {
                corpus,
                file: corpus.file_name().to_string(),
                records,
                people: [start, start + records],
            }
        })
        .collect();
    std::thread::scope(|scope| {
        let writers: Vec<_> = Corpus::ALL
            .iter()
            .map(|&corpus| {
                scope.spawn(move || -> io::Result<()> {
                    let file = BufWriter::with_capacity(1 << 20, File::create(dir.join(corpus.file_name()))?);
                    if corpus == Corpus::TelecomKyc {
                        let mut encoder = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
                        corpus.write(&mut encoder, records, seed)?;
                        encoder.finish()?.flush()
                    } else {
                        let mut file = file;
                        corpus.write(&mut file, records, seed)?;
                        file.flush()
                    }
                })
            })
            .collect();
        writers.into_iter().try_for_each(|writer| {
            writer
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("generator thread panicked")))
        })
    })?;
    let mut overlaps = Vec::new();
    for (i, a) in corpora.iter().enumerate() {
        for b in &corpora[i + 1..] {
            let people = a.people[1]
                .min(b.people[1])
                .saturating_sub(a.people[0].max(b.people[0]));
            overlaps.push(Overlap {
                a: a.corpus,
                b: b.corpus,
                people,
            });
        }
    }
    let manifest = Manifest {
        seed,
        records_per_corpus: records,
        corpora,
        overlaps,
    };
    let json = serde_json::to_vec_pretty(&manifest).map_err(io::Error::other)?;
    std::fs::write(dir.join("gen-manifest.json"), json)?;
    Ok(manifest)
}

/// A bot-style suspect sample of `count` phone numbers: most drawn from the vaccination and
/// telecom corpora (written in varied ways), a tenth fabricated (numbers no corpus holds).
pub fn suspect_phones(records: u64, seed: u64, count: usize) -> Vec<String> {
    let mut rng = StdRng::seed_from_u64(mix(seed ^ 0x5005_7ec7));
    (0..count)
        .map(|_| {
            if rng.random_bool(0.1) {
                // Past every corpus window: nobody generated holds it.
                let person = Person::new(seed, records * 4 + rng.random_range(0..records.max(1)));
                return person.mobile;
            }
            let corpus = if rng.random_bool(0.5) {
                Corpus::Vaccination
            } else {
                Corpus::TelecomKyc
            };
            let index = corpus.first_person(records) + rng.random_range(0..records.max(1));
            let mobile = Person::new(seed, index).mobile;
            match rng.random_range(0..3) {
                0 => format!("+91 {} {}", &mobile[..5], &mobile[5..]),
                1 => format!("0{mobile}"),
                _ => mobile,
            }
        })
        .collect()
}

/// What of a person a suspect record shows, to say where it can be found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Shown {
    Phone,
    Email,
    NationalId,
    Pan,
    Name,
    BirthYear,
    BirthDate,
    /// An address with its postcode.
    Address,
    /// A postcode in a field of its own.
    Postcode,
}

/// One record of a generated suspect sample, with the truth about it.
#[derive(Clone, Debug, Serialize)]
pub struct SuspectRecord {
    /// (field, value) as the sample shows them: renamed, reformatted, some dropped.
    pub fields: Vec<(&'static str, String)>,
    /// The record it was copied from: (corpus, 1-based ordinal); `None` when fabricated.
    pub source: Option<(Corpus, u64)>,
    pub person: u64,
    pub shows: Vec<Shown>,
}

impl SuspectRecord {
    /// Whether `corpus` holds this record's person under something the record shows (an
    /// identifier, or a name with the date of birth, or birth year and postcode, or address, the
    /// corpus keeps).
    pub fn findable_in(&self, corpus: Corpus, records: u64) -> bool {
        if self.source.is_none() || corpus.ordinal_of(records, self.person).is_none() {
            return false;
        }
        let shows = |what| self.shows.contains(&what);
        match corpus {
            Corpus::Vaccination => {
                shows(Shown::Phone)
                    || shows(Shown::NationalId)
                    || shows(Shown::Name) && shows(Shown::Postcode)
                    || shows(Shown::Name)
                        && shows(Shown::Address)
                        && (shows(Shown::BirthDate) || shows(Shown::BirthYear))
            }
            // Its addresses end in their postcode.
            Corpus::TelecomKyc => {
                shows(Shown::Phone)
                    || shows(Shown::NationalId)
                    || shows(Shown::Name) && (shows(Shown::BirthDate) || shows(Shown::Postcode))
            }
            // Orders keep the customer's name and shipping address.
            Corpus::ShopOrders => {
                shows(Shown::Phone) || shows(Shown::Email) || shows(Shown::Name) && shows(Shown::Address)
            }
            Corpus::ComboList => shows(Shown::Email),
            Corpus::LegacyPortal => {
                shows(Shown::Phone)
                    || shows(Shown::Email)
                    || shows(Shown::Pan)
                    || shows(Shown::Name) && shows(Shown::BirthDate)
            }
        }
    }

    /// Whether another corpus holds this record's person with every field the record shows, each
    /// with the same value as the source: no comparison can tell the copies apart, and which one
    /// the record was copied from can only be guessed (the set's majority decides it). Narrow on
    /// purpose: a field that some copy holds differently (an address, a masked ID) or that only
    /// the source holds (a vaccine, a father's name) makes the record not tied.
    pub fn tied(&self, records: u64) -> bool {
        let Some((source, _)) = self.source else { return false };
        let holds_same = |corpus: Corpus, field: &str| match field {
            "name" | "mobile" => corpus != Corpus::ComboList,
            "email" => matches!(corpus, Corpus::ShopOrders | Corpus::ComboList | Corpus::LegacyPortal),
            "dob" => matches!(corpus, Corpus::TelecomKyc | Corpus::LegacyPortal),
            "yob" => corpus == Corpus::Vaccination,
            "pin" => matches!(corpus, Corpus::Vaccination | Corpus::ShopOrders),
            "pan" => corpus == Corpus::LegacyPortal,
            _ => false,
        };
        Corpus::ALL.into_iter().any(|other| {
            other != source
                && other.ordinal_of(records, self.person).is_some()
                && self
                    .fields
                    .iter()
                    .all(|(field, _)| holds_same(source, field) && holds_same(other, field))
        })
    }
}

/// Romanizations that sources disagree on.
const VARIANTS: &[(&str, &str)] = &[
    ("Mohammed", "Mohd"),
    ("Lakshmi", "Laxmi"),
    ("Pooja", "Puja"),
    ("Deepak", "Dipak"),
    ("Deepika", "Dipika"),
    ("Srinivas", "Shreenivas"),
    ("Ayesha", "Aisha"),
    ("Kavita", "Kavitha"),
    ("Geeta", "Gita"),
    ("Jyoti", "Jyothi"),
    ("Chatterjee", "Chatterji"),
    ("Banerjee", "Banerji"),
    ("Mukherjee", "Mukherji"),
    ("D'Souza", "Dsouza"),
    ("Venkatesh", "Venkatesha"),
];

fn variant(word: &str) -> &str {
    VARIANTS
        .iter()
        .find(|(from, _)| *from == word)
        .map_or(word, |(_, to)| to)
}

/// A name as a bot might print it: upper case, words swapped, an initial, another romanization.
fn reformat_name(person: &Person, rng: &mut StdRng) -> String {
    let (first, last) = (variant(person.first), variant(person.last));
    match rng.random_range(0..10) {
        0 | 1 => person.name().to_uppercase(),
        2 => format!("{last} {first}"),
        3 => format!("{}. {last}", &first[..1]),
        4 | 5 => format!("{first} {last}"),
        _ => person.name(),
    }
}

fn reformat_phone(mobile: &str, rng: &mut StdRng) -> String {
    match rng.random_range(0..4) {
        0 => format!("+91 {} {}", &mobile[..5], &mobile[5..]),
        1 => format!("0{}-{}", &mobile[..5], &mobile[5..]),
        2 => format!("91-{mobile}"),
        _ => mobile.to_string(),
    }
}

fn reformat_date((year, month, day): (u32, u32, u32), rng: &mut StdRng) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    match rng.random_range(0..3) {
        0 => format!("{day:02}-{month:02}-{year}"),
        1 => format!("{day} {} {year}", MONTHS[month as usize - 1]),
        _ => format!("{year}-{month:02}-{day:02}"),
    }
}

/// A bot-style suspect sample of `count` records with known truth: 45% copied from the
/// vaccination corpus and 45% from the telecom corpus (renamed fields, reformatted values,
/// dropped fields), 5% from the legacy portal, 5% fabricated (people no corpus holds).
pub fn suspect_records(records: u64, seed: u64, count: usize) -> Vec<SuspectRecord> {
    let mut rng = StdRng::seed_from_u64(mix(seed ^ 0x0b07_5a3b));
    let records = records.max(1);
    (0..count)
        .map(|_| {
            let draw = rng.random_range(0..100);
            let (corpus, index) = match draw {
                0..45 => (Some(Corpus::Vaccination), rng.random_range(0..records)),
                45..90 => (Some(Corpus::TelecomKyc), records / 2 + rng.random_range(0..records)),
                90..95 => (
                    Some(Corpus::LegacyPortal),
                    records * 3 / 4 + rng.random_range(0..records),
                ),
                // Past every corpus window: nobody generated holds it.
                _ => (None, records * 4 + rng.random_range(0..records)),
            };
            let person = Person::new(seed, index);
            let mut fields: Vec<(&'static str, String)> = vec![("name", reformat_name(&person, &mut rng))];
            let mut shows = vec![Shown::Name];
            let keep_phone = rng.random_bool(0.9);
            if keep_phone {
                fields.push(("mobile", reformat_phone(&person.mobile, &mut rng)));
                shows.push(Shown::Phone);
            }
            match corpus {
                Some(Corpus::Vaccination) | None => {
                    let extras = VaccinationExtras::draw(&mut Corpus::Vaccination.record_rng(seed, index));
                    // Without a phone, a third carry the ID only inside a labelled field and a
                    // third give a postcode, district and gender but no birth year: the records
                    // no blocking key reached in wave 1.
                    let shape = if keep_phone { 0 } else { rng.random_range(0..3) };
                    if shape == 2 {
                        fields.push(("pin", person.pincode.to_string()));
                        fields.push(("district", person.district.to_string()));
                        fields.push(("gender", if person.male { "M" } else { "F" }.to_string()));
                        shows.push(Shown::Postcode);
                    } else {
                        fields.push(("yob", person.birth.0.to_string()));
                        shows.push(Shown::BirthYear);
                        if shape == 1 {
                            fields.push(("document", format!("AADHAAR {}", spaced_aadhaar(&person.aadhaar))));
                        } else {
                            let id = if rng.random_bool(0.3) {
                                format!("XXXX XXXX {}", &person.aadhaar[8..])
                            } else {
                                extras.id(&person)
                            };
                            fields.push(("id_number", id));
                        }
                        shows.push(Shown::NationalId);
                        if rng.random_bool(0.6) {
                            fields.push(("district", person.district.to_string()));
                        }
                        if rng.random_bool(0.4) {
                            fields.push(("gender", if person.male { "M" } else { "F" }.to_string()));
                        }
                    }
                    if rng.random_bool(0.5) {
                        fields.push(("vaccine", extras.vaccine.to_string()));
                    }
                }
                Some(Corpus::TelecomKyc) => {
                    let extras = TelecomExtras::draw(&mut Corpus::TelecomKyc.record_rng(seed, index));
                    fields.push(("dob", reformat_date(person.birth, &mut rng)));
                    shows.push(Shown::BirthDate);
                    // Without a phone, half keep the ID: the rest show only a name, a date, an address.
                    if keep_phone || rng.random_bool(0.5) {
                        let id = if rng.random_bool(0.3) {
                            format!("XXXX XXXX {}", &person.aadhaar[8..])
                        } else {
                            spaced_aadhaar(&person.aadhaar)
                        };
                        fields.push(("id_number", id));
                        shows.push(Shown::NationalId);
                    }
                    if rng.random_bool(0.4) {
                        fields.push(("father", extras.father_name(&person)));
                    }
                    if !keep_phone || rng.random_bool(0.4) {
                        fields.push(("address", TelecomExtras::address(&person)));
                        shows.push(Shown::Address);
                    }
                    if rng.random_bool(0.3) {
                        fields.push(("circle", person.state.to_string()));
                    }
                }
                Some(_) => {
                    fields.push(("dob", reformat_date(person.birth, &mut rng)));
                    shows.push(Shown::BirthDate);
                    if rng.random_bool(0.6) {
                        fields.push(("email", person.email.clone()));
                        shows.push(Shown::Email);
                    }
                    if rng.random_bool(0.5) {
                        fields.push(("pan", person.pan.clone()));
                        shows.push(Shown::Pan);
                    }
                }
            }
            SuspectRecord {
                source: corpus.and_then(|corpus| corpus.ordinal_of(records, index).map(|ordinal| (corpus, ordinal))),
                person: index,
                fields,
                shows,
            }
        })
        .collect()
}

/// Writes a suspect sample as JSON Lines, one object per record, fields in order.
pub fn write_suspects(path: &Path, suspects: &[SuspectRecord]) -> io::Result<()> {
    let mut out = BufWriter::new(File::create(path)?);
    for suspect in suspects {
        let object: serde_json::Map<String, serde_json::Value> = suspect
            .fields
            .iter()
            .map(|(name, value)| (name.to_string(), serde_json::Value::String(value.clone())))
            .collect();
        serde_json::to_writer(&mut out, &object)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

/// One identifier written by [`write_shapes`], and where it must be found.
#[derive(Clone, Debug, Serialize)]
pub struct ShapeTruth {
    /// File under the shapes folder.
    pub file: String,
    /// 1-based record of the file.
    pub record: u64,
    pub kind: crate::ingest::Kind,
    /// As written in the file.
    pub value: String,
}

/// Writes dumps of the shapes wave 1 misread (issue 11) under `dir`, for people `[0, records)`,
/// and returns every identifier they hold with its file and record:
///
/// | file | shape |
/// |---|---|
/// | `kyc_export.json` | a pretty-printed JSON document wrapping its records (`{"count": …, "records": [{…}]}`); an `id_type`/`id_number` pair of mixed kinds (Aadhaar, PAN, voter ID, passport); a `document` field with a labelled identifier (`Voter ID - JZD9562914`) |
/// | `crm/schema.sql` | `CREATE TABLE` of two tables only, as `mysqldump --no-data` writes them |
/// | `crm/data.sql` | their rows, `INSERT` without column lists; a remark with a phone in `orders.note` |
pub fn write_shapes(dir: &Path, records: u64, seed: u64) -> io::Result<Vec<ShapeTruth>> {
    std::fs::create_dir_all(dir.join("crm"))?;
    let mut truth = Vec::new();
    let mut note = |file: &str, record: u64, kind, value: &str| {
        truth.push(ShapeTruth {
            file: file.to_string(),
            record,
            kind,
            value: value.to_string(),
        })
    };
    use crate::ingest::Kind;
    let mut json = BufWriter::new(File::create(dir.join("kyc_export.json"))?);
    write!(
        json,
        "{{\n  \"exported_at\": \"2023-06-12T10:00:00Z\",\n  \"count\": {records},\n  \"records\": ["
    )?;
    for index in 0..records {
        let person = Person::new(seed, index);
        let mut rng = StdRng::seed_from_u64(mix(seed ^ index ^ 0x5a5e_d0c5));
        let letters = |rng: &mut StdRng, count| -> String {
            (0..count)
                .map(|_| char::from(b'A' + rng.random_range(0..26u8)))
                .collect()
        };
        let voter_id = format!("{}{:07}", letters(&mut rng, 3), rng.random_range(0..10_000_000));
        let passport = format!("{}{:07}", letters(&mut rng, 1), rng.random_range(1_000_000..10_000_000));
        let record = index + 1;
        let (id_type, id_number, kind) = match index % 4 {
            0 => ("AADHAAR", person.aadhaar.clone(), Kind::NationalId),
            1 => ("PAN", person.pan.clone(), Kind::Pan),
            2 => ("Voter ID", voter_id.clone(), Kind::VoterId),
            _ => ("Passport", passport, Kind::Passport),
        };
        note("kyc_export.json", record, kind, &id_number);
        note("kyc_export.json", record, Kind::Phone, &person.mobile);
        let document = if index % 4 == 2 {
            format!("EPIC {}", person.pan)
        } else {
            format!("Voter ID - {voter_id}")
        };
        note(
            "kyc_export.json",
            record,
            if index % 4 == 2 { Kind::Pan } else { Kind::VoterId },
            document.rsplit(' ').next().unwrap_or_default(),
        );
        write!(
            json,
            "{}\n    {{\n      \"name\": \"{}\",\n      \"mobile\": \"{}\",\n      \"id_type\": \"{id_type}\",\n      \"id_number\": \"{id_number}\",\n      \"document\": \"{document}\"\n    }}",
            if index == 0 { "" } else { "," },
            person.name(),
            person.mobile,
        )?;
    }
    writeln!(json, "\n  ]\n}}")?;
    json.flush()?;

    std::fs::write(
        dir.join("crm/schema.sql"),
        "-- MySQL dump 10.13 (--no-data)\n/*!40101 SET NAMES utf8mb4 */;\nDROP TABLE IF EXISTS `customer`;\n\
         CREATE TABLE `customer` (\n  `id` int NOT NULL,\n  `full_name` varchar(100),\n  `email` varchar(120),\n  `mobile` varchar(20),\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB;\n\
         CREATE TABLE `orders` (\n  `id` int NOT NULL,\n  `customer_id` int,\n  `amount` decimal(10,2),\n  `note` text\n) ENGINE=InnoDB;\n",
    )?;
    let mut sql = BufWriter::new(File::create(dir.join("crm/data.sql"))?);
    for (table, offset) in [("customer", 0), ("orders", records)] {
        for index in 0..records {
            if index % 100 == 0 {
                write!(
                    sql,
                    "{}INSERT INTO `{table}` VALUES ",
                    if index == 0 { "" } else { ";\n" }
                )?;
            } else {
                write!(sql, ",")?;
            }
            let person = Person::new(seed, index);
            let record = offset + index + 1;
            if table == "customer" {
                write!(
                    sql,
                    "({},'{}','{}','{}')",
                    index + 1,
                    sql_quote(&person.name()),
                    person.email,
                    person.mobile
                )?;
                note("crm/data.sql", record, Kind::Email, &person.email);
                note("crm/data.sql", record, Kind::Phone, &person.mobile);
            } else {
                let alternate = Person::new(seed, index + records).mobile;
                write!(
                    sql,
                    "({},{},{}.00,'called back on {} - ok')",
                    index + 1,
                    index + 1,
                    100 + index % 900,
                    alternate
                )?;
                note("crm/data.sql", record, Kind::Phone, &alternate);
            }
        }
        writeln!(sql, ";")?;
    }
    sql.flush()?;
    Ok(truth)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::normalize::{is_aadhaar, is_email, is_pan};

    #[test]
    fn people_are_deterministic_and_valid() {
        let a = Person::new(1, 42);
        let b = Person::new(1, 42);
        assert_eq!(
            (a.name(), a.mobile.clone(), a.aadhaar.clone()),
            (b.name(), b.mobile.clone(), b.aadhaar.clone())
        );
        let mut mobiles = std::collections::HashSet::new();
        for index in 0..2000 {
            let person = Person::new(1, index);
            assert!(is_aadhaar(&person.aadhaar), "{}", person.aadhaar);
            assert!(is_pan(&person.pan), "{}", person.pan);
            assert!(is_email(&person.email), "{}", person.email);
            assert!(mobiles.insert(person.mobile.clone()), "duplicate mobile");
        }
    }
}
