//! A network file: the spreadsheet a federation keeps of its networks (named sets of funds across the
//! area hierarchy), one line per network and fund, read as a whole and checked as a whole.
//!
//! The file is read like a fund registry ([`crate::registry`]: CSV in UTF-8 or Windows-874, or XLSX,
//! a title allowed above the header) with Thai or English headings: `รหัสเครือข่าย` (network_id),
//! `ชื่อเครือข่าย` (name_th), `ชื่อเครือข่ายภาษาอังกฤษ` (name_en, optional) and `รหัสกองทุน` (fund_id,
//! optional: without it the file sets names only). A network's names may be given on its first line
//! only; two different names for one network are a problem naming both cells. Line numbers, remarks
//! and the fund's name are read past; any other column is a problem. Every problem is collected,
//! each naming its line (or cell) and column; a file with any problem yields no network at all.
//! Whether each fund is registered is the hub's check.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use welfare_model::assessment::check_name;
use welfare_model::{FundId, Network, NetworkId};

use crate::file::RowSink;
use crate::file::grid::{GridRow, Place, quoted};
use crate::mapping::{RawValue, fold_name};
use crate::registry::{
    HEADER_SEARCH_ROWS, Problems, RegistryError, cell_text, field_heading, field_name,
    field_of_heading, read_table,
};
use crate::source::ConnectorError;

/// What a column of a network file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NetworkField {
    NetworkId,
    NameTh,
    NameEn,
    FundId,
}

/// Each field with its canonical name and the headings files write over it.
const HEADINGS: &[(NetworkField, &str, &[&str])] = &[
    (
        NetworkField::NetworkId,
        "network_id",
        &[
            "รหัสเครือข่าย",
            "network id",
            "network code",
            "network",
            "เครือข่าย",
        ],
    ),
    (
        NetworkField::NameTh,
        "name_th",
        &[
            "ชื่อเครือข่าย",
            "ชื่อเครือข่าย (ไทย)",
            "ชื่อ",
            "network name",
            "name",
            "thai name",
        ],
    ),
    (
        NetworkField::NameEn,
        "name_en",
        &[
            "ชื่อเครือข่ายภาษาอังกฤษ",
            "ชื่อเครือข่าย (อังกฤษ)",
            "ชื่อภาษาอังกฤษ",
            "network name (english)",
            "english name",
        ],
    ),
    (
        NetworkField::FundId,
        "fund_id",
        &["รหัสกองทุน", "fund id", "fund code", "fund"],
    ),
];

/// Headings of columns kept for people, not for the hub: a line number, remarks, the fund's name.
const NOT_FOR_THE_HUB: &[&str] = &[
    "ลำดับ",
    "ลำดับที่",
    "ที่",
    "no",
    "no.",
    "หมายเหตุ",
    "remarks",
    "note",
    "notes",
    "ชื่อกองทุน",
    "fund name",
];

/// The most lines (network and fund) one file holds.
pub const MAX_LINES: usize = 200_000;

impl NetworkField {
    pub fn name(self) -> &'static str {
        field_name(HEADINGS, self)
    }

    fn heading_th(self) -> &'static str {
        field_heading(HEADINGS, self)
    }

    /// The field a heading names, if any.
    pub fn of_heading(heading: &str) -> Option<NetworkField> {
        field_of_heading(HEADINGS, heading)
    }
}

/// One network as the file gives it, with where it was read.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkEntry {
    /// Its first line: `networks.csv line 3`.
    pub location: String,
    /// The network: its names and (when the file has a fund column) its funds, by id.
    pub network: Network,
    /// Where each fund was listed, for the hub's check that the fund is registered.
    pub fund_locations: BTreeMap<FundId, String>,
}

/// A network file read and checked on its own.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NetworkFile {
    /// The networks in the order of their first lines.
    pub networks: Vec<NetworkEntry>,
    /// Whether the file has a fund column: without one, members are left as they are.
    pub has_funds: bool,
    /// Whether the file has an English-name column: without one, English names are left as they are.
    pub has_name_en: bool,
    /// Columns read past (line numbers, remarks, the fund's name), with where they are.
    pub not_read: Vec<String>,
}

impl NetworkFile {
    /// How many (network, fund) memberships the file lists.
    pub fn memberships(&self) -> usize {
        self.networks.iter().map(|n| n.network.funds.len()).sum()
    }
}

/// Reads a network file whole.
pub fn read_networks(path: &Path) -> Result<NetworkFile, RegistryError> {
    read_table(path, "network", Reader::new)?.finish()
}

/// What a header column feeds.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Column {
    Field(NetworkField),
    /// For people: read past.
    NotRead,
    /// No heading: must stay empty.
    Blank,
    /// Not a network column: refused once, at the header.
    Refused,
}

struct Header {
    number: u64,
    columns: Vec<Column>,
    names: Vec<String>,
}

/// A network as its lines build it.
struct Building {
    entry: NetworkEntry,
    /// The Thai name and where it was first given.
    name_th: Option<(String, String)>,
    /// The English name and where it was first given.
    name_en: Option<(String, String)>,
    /// Where the network id was first read, for a network left without a name.
    name_cell: String,
}

/// Reads rows pushed one at a time.
struct Reader {
    place: Place,
    searched: usize,
    header: Option<Header>,
    lines: usize,
    networks: Vec<Building>,
    /// Network id → its index in `networks`.
    index: HashMap<NetworkId, usize>,
    problems: Problems,
    /// A line whose network id did not read: its name may be the one a network seems to lack.
    unread_id: bool,
    stopped: Option<String>,
}

impl Reader {
    fn new(place: Place) -> Self {
        Reader {
            place,
            searched: 0,
            header: None,
            lines: 0,
            networks: Vec::new(),
            index: HashMap::new(),
            problems: Problems::default(),
            unread_id: false,
            stopped: None,
        }
    }

    fn required() -> String {
        [NetworkField::NetworkId, NetworkField::NameTh]
            .iter()
            .map(|f| format!("{} ({})", f.name(), f.heading_th()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn finish(mut self) -> Result<NetworkFile, RegistryError> {
        if let Some(stopped) = self.stopped.take() {
            return Err(RegistryError::one(stopped));
        }
        let Some(header) = &self.header else {
            return Err(RegistryError::one(format!(
                "{}: no header found: a network file needs a row naming its columns, at least {} and, for memberships, {} ({})",
                self.place.describe(),
                Reader::required(),
                NetworkField::FundId.name(),
                NetworkField::FundId.heading_th()
            )));
        };
        if self.networks.is_empty() && self.problems.is_empty() {
            return Err(RegistryError::one(format!(
                "{} is the header, and no network follows it",
                self.place.row_location(header.number)
            )));
        }
        let not_read = header
            .columns
            .iter()
            .zip(&header.names)
            .enumerate()
            .filter(|(_, (column, _))| **column == Column::NotRead)
            .map(|(c, (_, name))| {
                format!(
                    "{} ({})",
                    quoted(name),
                    self.place.cell_location(header.number, c)
                )
            })
            .collect();
        let has = |f: NetworkField| header.columns.contains(&Column::Field(f));
        let has_funds = has(NetworkField::FundId);
        let has_name_en = has(NetworkField::NameEn);
        let mut networks = Vec::with_capacity(self.networks.len());
        for building in std::mem::take(&mut self.networks) {
            let mut entry = building.entry;
            match building.name_th {
                Some((name, _)) => entry.network.name_th = name,
                // Without a name column, the header's problem already; after a line whose network
                // id did not read, perhaps that line's problem.
                None if !has(NetworkField::NameTh) || self.unread_id => {}
                None => self.problems.push(format!(
                    "{}: network {} has no name ({}) on any of its lines",
                    building.name_cell,
                    entry.network.id,
                    NetworkField::NameTh.heading_th()
                )),
            }
            entry.network.name_en = building.name_en.map(|(name, _)| name);
            entry.network.funds = entry.fund_locations.keys().cloned().collect();
            networks.push(entry);
        }
        self.problems.result(NetworkFile {
            networks,
            has_funds,
            has_name_en,
            not_read,
        })
    }

    fn search(&mut self, row: GridRow) {
        let names: Vec<String> = row.cells.iter().map(cell_text).collect();
        let fields: Vec<Option<NetworkField>> =
            names.iter().map(|n| NetworkField::of_heading(n)).collect();
        if fields.iter().flatten().count() < 2 {
            self.searched += 1;
            if self.searched >= HEADER_SEARCH_ROWS {
                self.stopped = Some(format!(
                    "{}: no header in the first {HEADER_SEARCH_ROWS} rows: a network file needs a row naming its columns ({}, {} ({}))",
                    self.place.describe(),
                    Reader::required(),
                    NetworkField::FundId.name(),
                    NetworkField::FundId.heading_th()
                ));
            }
            return;
        }
        let at = |c: usize| self.place.cell_location(row.number, c);
        // Every column is accounted for: a field once, a column for people read past, nothing else.
        let mut first: HashMap<NetworkField, usize> = HashMap::new();
        let mut columns = Vec::with_capacity(names.len());
        for (c, (field, name)) in fields.iter().zip(&names).enumerate() {
            let column = match field {
                Some(f) => {
                    if let Some(before) = first.insert(*f, c) {
                        self.problems.push(format!(
                            "{}: column {} is {}, like {} ({}): which one holds it cannot be known",
                            at(c),
                            quoted(name),
                            f.name(),
                            quoted(&names[before]),
                            at(before)
                        ));
                    }
                    Column::Field(*f)
                }
                None if name.is_empty() => Column::Blank,
                None if NOT_FOR_THE_HUB
                    .iter()
                    .any(|h| fold_name(h) == fold_name(name)) =>
                {
                    Column::NotRead
                }
                None => {
                    self.problems.push(format!(
                        "{}: column {} is not a network column: expected {}; remove it or rename it",
                        at(c),
                        quoted(name),
                        HEADINGS
                            .iter()
                            .map(|(_, n, h)| format!("{n} ({})", h[0]))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                    Column::Refused
                }
            };
            columns.push(column);
        }
        for wanted in [NetworkField::NetworkId, NetworkField::NameTh] {
            if !first.contains_key(&wanted) {
                self.problems.push(format!(
                    "{}: the header has no column for {} ({})",
                    self.place.row_location(row.number),
                    wanted.name(),
                    wanted.heading_th()
                ));
            }
        }
        self.header = Some(Header {
            number: row.number,
            columns,
            names,
        });
    }

    fn line(&mut self, row: GridRow) {
        let header = self.header.as_ref().expect("a header");
        let location = self.place.row_location(row.number);
        if self.lines >= MAX_LINES {
            self.stopped = Some(format!(
                "{location}: a network file holds at most {MAX_LINES} lines"
            ));
            return;
        }
        self.lines += 1;
        let place = &self.place;
        let at = |c: usize| {
            let name = header.names.get(c).map(String::as_str).unwrap_or_default();
            if name.is_empty() {
                place.cell_location(row.number, c)
            } else {
                format!("{} ({name})", place.cell_location(row.number, c))
            }
        };
        let mut problems = Vec::new();
        let mut fields: HashMap<NetworkField, (usize, &RawValue)> = HashMap::new();
        for (c, value) in row.cells.iter().enumerate() {
            match header.columns.get(c) {
                Some(Column::Field(f)) => {
                    fields.entry(*f).or_insert((c, value));
                }
                Some(Column::NotRead | Column::Refused) => {}
                Some(Column::Blank) | None if cell_text(value).is_empty() => {}
                Some(Column::Blank) | None => problems.push(format!(
                    "{}: a value in a column the header does not name",
                    at(c)
                )),
            }
        }
        let cell = |f: NetworkField| fields.get(&f).copied();
        let network = match cell(NetworkField::NetworkId) {
            Some((c, v)) if cell_text(v).is_empty() => {
                problems.push(format!("{}: no network id", at(c)));
                self.unread_id = true;
                None
            }
            Some((c, v)) => match NetworkId::parse(&cell_text(v)) {
                Ok(id) => Some((c, id)),
                Err(e) => {
                    problems.push(format!("{}: {e}", at(c)));
                    self.unread_id = true;
                    None
                }
            },
            // The header's problem already.
            None => None,
        };
        let name = |f: NetworkField, problems: &mut Vec<String>| -> Option<(String, String)> {
            let (c, v) = cell(f)?;
            let text = cell_text(v);
            if text.is_empty() {
                return None;
            }
            match check_name("network name", &text) {
                Ok(name) => Some((name, at(c))),
                Err(e) => {
                    problems.push(format!("{}: {e}", at(c)));
                    None
                }
            }
        };
        let name_th = name(NetworkField::NameTh, &mut problems);
        let name_en = name(NetworkField::NameEn, &mut problems);
        let fund = match cell(NetworkField::FundId) {
            Some((_, v)) if cell_text(v).is_empty() => None,
            Some((c, v)) => match FundId::parse(&cell_text(v)) {
                Ok(id) => Some((at(c), id)),
                Err(e) => {
                    problems.push(format!("{}: {e}", at(c)));
                    None
                }
            },
            None => None,
        };
        if let Some((c, id)) = network {
            let index = match self.index.get(&id) {
                Some(&i) => i,
                None => {
                    self.index.insert(id.clone(), self.networks.len());
                    self.networks.push(Building {
                        entry: NetworkEntry {
                            location: location.clone(),
                            network: Network {
                                id: id.clone(),
                                name_th: String::new(),
                                name_en: None,
                                funds: Vec::new(),
                            },
                            fund_locations: BTreeMap::new(),
                        },
                        name_th: None,
                        name_en: None,
                        name_cell: cell(NetworkField::NameTh)
                            .map(|(c, _)| at(c))
                            .unwrap_or_else(|| at(c)),
                    });
                    self.networks.len() - 1
                }
            };
            let building = &mut self.networks[index];
            for (given, kept, what) in [
                (name_th, &mut building.name_th, "named"),
                (name_en, &mut building.name_en, "named in English"),
            ] {
                let Some((name, name_at)) = given else {
                    continue;
                };
                match kept {
                    Some((first, first_at)) if *first != name => problems.push(format!(
                        "{name_at}: network {id} is {what} {} here but {} on {first_at}: give one name",
                        quoted(&name),
                        quoted(first)
                    )),
                    Some(_) => {}
                    None => *kept = Some((name, name_at)),
                }
            }
            if let Some((fund_at, fund)) = fund {
                match building.entry.fund_locations.get(&fund) {
                    Some(before) => problems.push(format!(
                        "{fund_at}: fund {fund} is listed in network {id} again: it is already on {before}"
                    )),
                    None => {
                        building.entry.fund_locations.insert(fund, fund_at);
                    }
                }
            }
        }
        for p in problems {
            self.problems.push(p);
        }
    }
}

impl RowSink for Reader {
    fn push(&mut self, row: GridRow) -> Result<(), ConnectorError> {
        if self.stopped.is_some() || row.cells.iter().all(|c| cell_text(c).is_empty()) {
            return Ok(());
        }
        match self.header {
            None => self.search(row),
            Some(_) => self.line(row),
        }
        match &self.stopped {
            Some(reason) => Err(ConnectorError::Content(reason.clone())),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn read(text: &str) -> Result<NetworkFile, RegistryError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("networks.csv");
        std::fs::File::create(&path)
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        read_networks(&path)
    }

    fn funds(entry: &NetworkEntry) -> Vec<&str> {
        entry.network.funds.iter().map(FundId::as_str).collect()
    }

    #[test]
    fn thai_headings_one_line_per_network_and_fund_are_read() {
        let file = read(
            "เครือข่ายกองทุนสวัสดิการชุมชน ปี 2569\n\
             ลำดับ,รหัสเครือข่าย,ชื่อเครือข่าย,ชื่อเครือข่ายภาษาอังกฤษ,รหัสกองทุน,ชื่อกองทุน,หมายเหตุ\n\
             1,north-south,เครือข่ายเหนือจรดใต้,North-south network,F-560101,กองทุนเวียง,\n\
             2,north-south,,,F-900101,กองทุนบ่อยาง,ข้ามจังหวัด\n\
             3,songkhla-1baht,เครือข่ายสัจจะวันละบาทสงขลา,,F-900102,,\n\
             4,north-south,เครือข่ายเหนือจรดใต้,,F-560102,,\n",
        )
        .unwrap();
        assert!(file.has_funds);
        assert!(file.has_name_en);
        assert_eq!(file.networks.len(), 2);
        assert_eq!(file.memberships(), 4);
        let a = &file.networks[0];
        assert_eq!(a.location, "networks.csv line 3");
        assert_eq!(a.network.id.as_str(), "north-south");
        assert_eq!(a.network.name_th, "เครือข่ายเหนือจรดใต้");
        assert_eq!(a.network.name_en.as_deref(), Some("North-south network"));
        assert_eq!(funds(a), ["F-560101", "F-560102", "F-900101"]);
        assert_eq!(
            a.fund_locations[&FundId::parse("F-900101").unwrap()],
            "networks.csv line 4 column 5 (รหัสกองทุน)"
        );
        let b = &file.networks[1];
        assert_eq!(b.network.name_th, "เครือข่ายสัจจะวันละบาทสงขลา");
        assert_eq!(b.network.name_en, None);
        assert_eq!(funds(b), ["F-900102"]);
        assert_eq!(
            file.not_read,
            [
                "\"ลำดับ\" (networks.csv line 2 column 1)",
                "\"ชื่อกองทุน\" (networks.csv line 2 column 6)",
                "\"หมายเหตุ\" (networks.csv line 2 column 7)",
            ]
        );
    }

    #[test]
    fn a_file_without_a_fund_column_names_networks_only() {
        let file = read("network_id,name_th\nnorth,เครือข่ายภาคเหนือ\nsouth,เครือข่ายภาคใต้\n").unwrap();
        assert!(!file.has_funds);
        assert!(!file.has_name_en);
        assert_eq!(file.memberships(), 0);
        assert_eq!(
            file.networks
                .iter()
                .map(|n| (n.network.id.as_str(), n.network.name_th.as_str()))
                .collect::<Vec<_>>(),
            [("north", "เครือข่ายภาคเหนือ"), ("south", "เครือข่ายภาคใต้")]
        );
    }

    #[test]
    fn every_problem_names_its_line_and_column() {
        let e = read(
            "รหัสเครือข่าย,ชื่อเครือข่าย,รหัสกองทุน\n\
             north,เครือข่ายภาคเหนือ,F-1\n\
             north,เครือข่ายเหนือ,F-2\n\
             north net,เครือข่าย,F-3\n\
             south,เครือข่ายภาคใต้,F 4\n\
             south,,F-5\n\
             south,,F-5\n\
             ,เครือข่าย,F-6\n\
             west,เครือข่ายตะวันตก,F-8,extra\n",
        )
        .unwrap_err();
        assert_eq!(e.problems.len(), 6, "{:#?}", e.problems);
        assert_eq!(
            e.problems[0],
            "networks.csv line 3 column 2 (ชื่อเครือข่าย): network north is named \"เครือข่ายเหนือ\" here but \"เครือข่ายภาคเหนือ\" on networks.csv line 2 column 2 (ชื่อเครือข่าย): give one name"
        );
        assert!(
            e.problems[1].starts_with(
                "networks.csv line 4 column 1 (รหัสเครือข่าย): network id \"north net\" has a space inside"
            ),
            "{}",
            e.problems[1]
        );
        assert!(
            e.problems[2].starts_with(
                "networks.csv line 5 column 3 (รหัสกองทุน): fund id \"F 4\" has a space inside"
            ),
            "{}",
            e.problems[2]
        );
        assert_eq!(
            e.problems[3],
            "networks.csv line 7 column 3 (รหัสกองทุน): fund F-5 is listed in network south again: it is already on networks.csv line 6 column 3 (รหัสกองทุน)"
        );
        assert_eq!(
            e.problems[4],
            "networks.csv line 8 column 1 (รหัสเครือข่าย): no network id"
        );
        assert_eq!(
            e.problems[5],
            "networks.csv line 9 column 4: a value in a column the header does not name"
        );
        // A network named on no line; but not when the line naming it may be one whose id did not
        // read (that line's problem is the one to fix).
        assert_eq!(
            read("network_id,name_th,fund_id\neast,,F-7\nwest,ตะวันตก,F-8\n")
                .unwrap_err()
                .problems,
            [
                "networks.csv line 2 column 2 (name_th): network east has no name (ชื่อเครือข่าย) on any of its lines"
            ]
        );
        assert_eq!(
            read("network_id,name_th,fund_id\neast west,ตะวันออก,F-6\neast,,F-7\n")
                .unwrap_err()
                .problems
                .len(),
            1
        );
    }

    #[test]
    fn unknown_repeated_and_missing_columns_are_refused() {
        let e = read("network_id,name,ชื่อเครือข่าย,อำเภอ\nnorth,ก,ก,เมือง\n").unwrap_err();
        assert_eq!(e.problems.len(), 2, "{:#?}", e.problems);
        assert_eq!(
            e.problems[0],
            "networks.csv line 1 column 3: column \"ชื่อเครือข่าย\" is name_th, like \"name\" (networks.csv line 1 column 2): which one holds it cannot be known"
        );
        assert!(
            e.problems[1].starts_with(
                "networks.csv line 1 column 4: column \"อำเภอ\" is not a network column: expected network_id (รหัสเครือข่าย), name_th (ชื่อเครือข่าย), name_en (ชื่อเครือข่ายภาษาอังกฤษ), fund_id (รหัสกองทุน)"
            ),
            "{}",
            e.problems[1]
        );
        assert_eq!(
            read("รหัสเครือข่าย,รหัสกองทุน\nnorth,F-1\n")
                .unwrap_err()
                .problems,
            ["networks.csv line 1: the header has no column for name_th (ชื่อเครือข่าย)"]
        );
        assert!(
            read("title only\n").unwrap_err().problems[0]
                .starts_with("networks.csv: no header found")
        );
        assert_eq!(
            read("network_id,name_th\n").unwrap_err().problems,
            ["networks.csv line 1 is the header, and no network follows it"]
        );
    }
}
