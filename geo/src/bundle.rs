//! Geography bundles: a directory of CSV files and GeoJSON layers (documented in
//! `docs/geography-bundle.md`). [`Bundle::load`] reads everything and checks it; a bundle with any
//! problem is refused whole, with every problem named by file, line or feature.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};

use welfare_model::{AreaCode, Level};

/// Population figures of one area (DOPA civil registration, 31 December of the year).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Population {
    pub total: i64,
    pub male: i64,
    pub female: i64,
    pub households: i64,
}

impl std::ops::AddAssign for Population {
    fn add_assign(&mut self, o: Population) {
        self.total += o.total;
        self.male += o.male;
        self.female += o.female;
        self.households += o.households;
    }
}

/// One province, district or tambon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Area {
    pub code: AreaCode,
    pub level: Level,
    /// The DOPA parent (none for a province).
    pub parent: Option<AreaCode>,
    pub name_th: String,
    pub name_en: String,
    /// Tambons only.
    pub postcode: Option<String>,
    /// The polygon this area is drawn with: its own code for provinces and districts; for tambons the
    /// bundle's `geom_code` (several current tambons can share one polygon).
    pub geom_code: AreaCode,
    /// Why a tambon has its `geom_code` (`same`, `carved_out_of_polygon`, …).
    pub geom_relation: Option<String>,
    /// Population at the bundle's population date (the latest year).
    pub population: Population,
}

/// A tambon's population in one year. Codes that no longer exist (`current == false`) keep their past
/// figures; blanks in the source stay `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PopulationRow {
    pub code: AreaCode,
    pub year: i32,
    pub total: Option<i64>,
    pub male: Option<i64>,
    pub female: Option<i64>,
    pub households: Option<i64>,
    pub current: bool,
}

/// One boundary polygon, as a GeoJSON geometry object (WGS84 longitude/latitude).
#[derive(Debug, Clone, PartialEq)]
pub struct Boundary {
    pub level: Level,
    pub code: AreaCode,
    pub geometry: geojson::Geometry,
}

/// A whole, checked geography bundle.
#[derive(Debug, Clone)]
pub struct Bundle {
    pub dir: PathBuf,
    /// Provinces, then districts, then tambons, each in file order.
    pub areas: Vec<Area>,
    pub population_by_year: Vec<PopulationRow>,
    pub boundaries: Vec<Boundary>,
    /// The year of the areas' population figures (the latest year of `population_by_year`).
    pub population_year: i32,
}

/// Where in a file a problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    File,
    Line(u64),
    Feature { index: usize, code: Option<String> },
}

/// One thing wrong with a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    pub location: Location,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Location::File => write!(f, "{}: {}", self.file, self.message),
            Location::Line(n) => write!(f, "{} line {}: {}", self.file, n, self.message),
            Location::Feature {
                index,
                code: Some(code),
            } => write!(
                f,
                "{} feature {} (code {}): {}",
                self.file, index, code, self.message
            ),
            Location::Feature { index, code: None } => {
                write!(f, "{} feature {}: {}", self.file, index, self.message)
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("geography bundle {} refused, {} problem(s):\n{}", dir.display(), problems.len(), list(problems))]
    Invalid {
        dir: PathBuf,
        problems: Vec<Problem>,
    },
}

fn list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  - {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// At most this many problems are collected; past it the bundle is clearly not the right one.
const MAX_PROBLEMS: usize = 50;

pub const PROVINCE_FILE: &str = "province.csv";
pub const DISTRICT_FILE: &str = "amphoe.csv";
pub const SUBDISTRICT_FILE: &str = "tambon.csv";
pub const POPULATION_FILE: &str = "tambon_population_by_year.csv";
pub const PROVINCE_LAYER: &str = "geojson/province.geojson";
pub const DISTRICT_LAYER: &str = "geojson/amphoe.geojson";
pub const SUBDISTRICT_LAYER: &str = "geojson/tambon.geojson";

/// Collects problems and stops collecting past [`MAX_PROBLEMS`].
#[derive(Default)]
struct Problems(Vec<Problem>);

impl Problems {
    fn add(&mut self, file: &str, location: Location, message: impl Into<String>) {
        if self.0.len() < MAX_PROBLEMS {
            self.0.push(Problem {
                file: file.to_string(),
                location,
                message: message.into(),
            });
        }
    }
}

/// One CSV record with named access and its line number.
struct Row<'a> {
    file: &'a str,
    line: u64,
    record: &'a csv::StringRecord,
    columns: &'a HashMap<String, usize>,
}

impl Row<'_> {
    fn text(&self, column: &str) -> &str {
        self.columns
            .get(column)
            .and_then(|&i| self.record.get(i))
            .unwrap_or("")
            .trim()
    }

    fn required(&self, column: &str, problems: &mut Problems) -> Option<String> {
        let t = self.text(column);
        if t.is_empty() {
            problems.add(
                self.file,
                Location::Line(self.line),
                format!("{column} is empty"),
            );
            None
        } else {
            Some(t.to_string())
        }
    }

    fn code(&self, column: &str, level: Level, problems: &mut Problems) -> Option<AreaCode> {
        let t = self.text(column);
        match AreaCode::parse(t) {
            Ok(code) if code.level() == level => Some(code),
            Ok(_) => {
                problems.add(
                    self.file,
                    Location::Line(self.line),
                    format!(
                        "{column} {t:?} is not a {level} code ({} digits)",
                        level.code_len().unwrap_or(0)
                    ),
                );
                None
            }
            Err(e) => {
                problems.add(
                    self.file,
                    Location::Line(self.line),
                    format!("{column}: {e}"),
                );
                None
            }
        }
    }

    fn count(&self, column: &str, problems: &mut Problems) -> Option<i64> {
        let t = self.text(column);
        match t.parse::<i64>() {
            Ok(n) if n >= 0 => Some(n),
            _ => {
                problems.add(
                    self.file,
                    Location::Line(self.line),
                    format!("{column} {t:?} is not a whole number ≥ 0"),
                );
                None
            }
        }
    }

    fn optional_count(&self, column: &str, problems: &mut Problems) -> Option<i64> {
        if self.text(column).is_empty() {
            None
        } else {
            self.count(column, problems)
        }
    }

    fn population(&self, problems: &mut Problems) -> Option<Population> {
        let p = Population {
            total: self.count("pop_total", problems)?,
            male: self.count("pop_male", problems)?,
            female: self.count("pop_female", problems)?,
            households: self.count("households", problems)?,
        };
        if p.male + p.female != p.total {
            problems.add(
                self.file,
                Location::Line(self.line),
                format!(
                    "pop_male {} + pop_female {} is not pop_total {}",
                    p.male, p.female, p.total
                ),
            );
        }
        Some(p)
    }
}

/// Reads a CSV file, checks its header has `columns`, and calls `each` for every record.
fn read_csv(
    dir: &Path,
    file: &str,
    columns: &[&str],
    problems: &mut Problems,
    mut each: impl FnMut(Row<'_>, &mut Problems),
) -> Result<(), BundleError> {
    let path = dir.join(file);
    let handle = File::open(&path).map_err(|source| BundleError::Io {
        path: path.clone(),
        source,
    })?;
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(handle);
    let header = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            problems.add(file, Location::Line(1), format!("unreadable header: {e}"));
            return Ok(());
        }
    };
    let index: HashMap<String, usize> = header
        .iter()
        .enumerate()
        .map(|(i, name)| (name.trim().trim_start_matches('\u{feff}').to_string(), i))
        .collect();
    let missing: Vec<&str> = columns
        .iter()
        .copied()
        .filter(|c| !index.contains_key(*c))
        .collect();
    if !missing.is_empty() {
        problems.add(
            file,
            Location::Line(1),
            format!("header lacks column(s) {}", missing.join(", ")),
        );
        return Ok(());
    }
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = record.position().map_or(0, |p| p.line());
                if record.len() != header.len() {
                    problems.add(
                        file,
                        Location::Line(line),
                        format!(
                            "{} fields where the header has {}",
                            record.len(),
                            header.len()
                        ),
                    );
                    continue;
                }
                each(
                    Row {
                        file,
                        line,
                        record: &record,
                        columns: &index,
                    },
                    problems,
                );
            }
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                problems.add(
                    file,
                    Location::Line(line),
                    format!("unreadable record: {e}"),
                );
                break;
            }
        }
    }
    Ok(())
}

/// Where each area was read, to name it in later checks.
struct Seen {
    file: &'static str,
    line: u64,
}

impl Bundle {
    /// Reads and checks the bundle in `dir`. Either every file is consistent, or the error lists what
    /// is wrong and where.
    pub fn load(dir: impl AsRef<Path>) -> Result<Bundle, BundleError> {
        let dir = dir.as_ref().to_path_buf();
        let mut problems = Problems::default();
        let mut areas: Vec<Area> = Vec::new();
        let mut seen: HashMap<AreaCode, Seen> = HashMap::new();
        // Declared child counts, checked against the children found.
        let mut declared_children: Vec<(AreaCode, &'static str, &'static str, u64, i64)> =
            Vec::new();

        let mut add_area = |area: Area,
                            file: &'static str,
                            line: u64,
                            problems: &mut Problems,
                            areas: &mut Vec<Area>| {
            if let Some(first) = seen.get(&area.code) {
                problems.add(
                    file,
                    Location::Line(line),
                    format!(
                        "duplicate code {} (first at {} line {})",
                        area.code, first.file, first.line
                    ),
                );
                return;
            }
            seen.insert(area.code.clone(), Seen { file, line });
            areas.push(area);
        };

        read_csv(
            &dir,
            PROVINCE_FILE,
            &[
                "code",
                "name_th",
                "name_en",
                "n_amphoe",
                "n_tambon",
                "pop_total",
                "pop_male",
                "pop_female",
                "households",
            ],
            &mut problems,
            |row, problems| {
                let (Some(code), Some(name_th), Some(name_en), Some(population)) = (
                    row.code("code", Level::Province, problems),
                    row.required("name_th", problems),
                    row.required("name_en", problems),
                    row.population(problems),
                ) else {
                    return;
                };
                if let Some(n) = row.count("n_amphoe", problems) {
                    declared_children.push((code.clone(), PROVINCE_FILE, "n_amphoe", row.line, n));
                }
                if let Some(n) = row.count("n_tambon", problems) {
                    declared_children.push((code.clone(), PROVINCE_FILE, "n_tambon", row.line, n));
                }
                let area = Area {
                    geom_code: code.clone(),
                    code,
                    level: Level::Province,
                    parent: None,
                    name_th,
                    name_en,
                    postcode: None,
                    geom_relation: None,
                    population,
                };
                add_area(area, PROVINCE_FILE, row.line, problems, &mut areas);
            },
        )?;

        read_csv(
            &dir,
            DISTRICT_FILE,
            &[
                "code",
                "name_th",
                "name_en",
                "province_code",
                "n_tambon",
                "pop_total",
                "pop_male",
                "pop_female",
                "households",
            ],
            &mut problems,
            |row, problems| {
                let (Some(code), Some(province), Some(name_th), Some(name_en), Some(population)) = (
                    row.code("code", Level::District, problems),
                    row.code("province_code", Level::Province, problems),
                    row.required("name_th", problems),
                    row.required("name_en", problems),
                    row.population(problems),
                ) else {
                    return;
                };
                if code.parent().as_ref() != Some(&province) {
                    problems.add(
                        DISTRICT_FILE,
                        Location::Line(row.line),
                        format!("province_code {province} is not the prefix of code {code}"),
                    );
                    return;
                }
                if let Some(n) = row.count("n_tambon", problems) {
                    declared_children.push((code.clone(), DISTRICT_FILE, "n_tambon", row.line, n));
                }
                let area = Area {
                    geom_code: code.clone(),
                    code,
                    level: Level::District,
                    parent: Some(province),
                    name_th,
                    name_en,
                    postcode: None,
                    geom_relation: None,
                    population,
                };
                add_area(area, DISTRICT_FILE, row.line, problems, &mut areas);
            },
        )?;

        read_csv(
            &dir,
            SUBDISTRICT_FILE,
            &[
                "code",
                "name_th",
                "name_en",
                "amphoe_code",
                "province_code",
                "postcode",
                "geom_code",
                "geom_relation",
                "pop_total",
                "pop_male",
                "pop_female",
                "households",
            ],
            &mut problems,
            |row, problems| {
                let (
                    Some(code),
                    Some(amphoe),
                    Some(province),
                    Some(geom_code),
                    Some(name_th),
                    Some(name_en),
                    Some(population),
                ) = (
                    row.code("code", Level::Subdistrict, problems),
                    row.code("amphoe_code", Level::District, problems),
                    row.code("province_code", Level::Province, problems),
                    row.code("geom_code", Level::Subdistrict, problems),
                    row.required("name_th", problems),
                    row.required("name_en", problems),
                    row.population(problems),
                )
                else {
                    return;
                };
                if code.parent().as_ref() != Some(&amphoe)
                    || amphoe.parent().as_ref() != Some(&province)
                {
                    problems.add(
                        SUBDISTRICT_FILE,
                        Location::Line(row.line),
                        format!("amphoe_code {amphoe} / province_code {province} are not the prefixes of code {code}"),
                    );
                    return;
                }
                let postcode = Some(row.text("postcode").to_string()).filter(|p| !p.is_empty());
                let relation =
                    Some(row.text("geom_relation").to_string()).filter(|p| !p.is_empty());
                let area = Area {
                    code,
                    level: Level::Subdistrict,
                    parent: Some(amphoe),
                    name_th,
                    name_en,
                    postcode,
                    geom_code,
                    geom_relation: relation,
                    population,
                };
                add_area(area, SUBDISTRICT_FILE, row.line, problems, &mut areas);
            },
        )?;

        let known: HashMap<&AreaCode, &Area> = areas.iter().map(|a| (&a.code, a)).collect();
        let line_of = |code: &AreaCode| seen.get(code).map_or(0, |s| s.line);

        // Parents exist; declared child counts and population sums agree with the children.
        let mut child_counts: HashMap<(&AreaCode, Level), i64> = HashMap::new();
        let mut child_population: HashMap<&AreaCode, Population> = HashMap::new();
        let mut parent_problems = Vec::new();
        for area in &areas {
            let Some(parent) = &area.parent else { continue };
            if !known.contains_key(parent) {
                parent_problems.push((area.level, area.code.clone(), parent.clone()));
                continue;
            }
            *child_counts.entry((parent, area.level)).or_default() += 1;
            // Tambons also count toward their province's n_tambon.
            if let Some(province) = parent.parent()
                && area.level == Level::Subdistrict
                && let Some((province, _)) = known.get_key_value(&province)
            {
                *child_counts
                    .entry((province, Level::Subdistrict))
                    .or_default() += 1;
            }
            *child_population.entry(parent).or_default() += area.population;
        }
        for (level, code, parent) in parent_problems {
            let file = if level == Level::District {
                DISTRICT_FILE
            } else {
                SUBDISTRICT_FILE
            };
            problems.add(
                file,
                Location::Line(line_of(&code)),
                format!("{code}: parent {parent} does not exist"),
            );
        }
        for (code, file, column, line, declared) in &declared_children {
            let level = if *column == "n_amphoe" {
                Level::District
            } else {
                Level::Subdistrict
            };
            let found = child_counts.get(&(code, level)).copied().unwrap_or(0);
            if found != *declared {
                problems.add(
                    file,
                    Location::Line(*line),
                    format!("{column} says {declared} but {found} are listed"),
                );
            }
        }
        // People add up exactly from tambon to amphoe to province; households do not (DOPA registers
        // some houses at district level only), so they are not checked.
        for area in areas.iter().filter(|a| a.level != Level::Subdistrict) {
            let sum = child_population
                .get(&area.code)
                .copied()
                .unwrap_or_default();
            let p = area.population;
            if (sum.total, sum.male, sum.female) != (p.total, p.male, p.female) {
                let file = if area.level == Level::Province {
                    PROVINCE_FILE
                } else {
                    DISTRICT_FILE
                };
                problems.add(
                    file,
                    Location::Line(line_of(&area.code)),
                    format!(
                        "population of {} ({} total, {} male, {} female) is not the sum of its children ({} total, {} male, {} female)",
                        area.code, p.total, p.male, p.female, sum.total, sum.male, sum.female,
                    ),
                );
            }
        }

        // Population by year.
        let mut population_by_year = Vec::new();
        let mut pop_seen: HashSet<(AreaCode, i32)> = HashSet::new();
        read_csv(
            &dir,
            POPULATION_FILE,
            &[
                "code",
                "year",
                "pop_total",
                "pop_male",
                "pop_female",
                "households",
                "code_current",
            ],
            &mut problems,
            |row, problems| {
                let Some(code) = row.code("code", Level::Subdistrict, problems) else {
                    return;
                };
                let year_text = row.text("year");
                let Ok(year) = year_text.parse::<i32>() else {
                    problems.add(
                        POPULATION_FILE,
                        Location::Line(row.line),
                        format!("year {year_text:?} is not a year"),
                    );
                    return;
                };
                let current = match row.text("code_current") {
                    "yes" => true,
                    "no" => false,
                    other => {
                        problems.add(
                            POPULATION_FILE,
                            Location::Line(row.line),
                            format!("code_current {other:?} is not yes or no"),
                        );
                        return;
                    }
                };
                if current && !known.contains_key(&code) {
                    problems.add(
                        POPULATION_FILE,
                        Location::Line(row.line),
                        format!("{code} is marked current but is not in {SUBDISTRICT_FILE}"),
                    );
                    return;
                }
                if !pop_seen.insert((code.clone(), year)) {
                    problems.add(
                        POPULATION_FILE,
                        Location::Line(row.line),
                        format!("duplicate row for {code} in {year}"),
                    );
                    return;
                }
                population_by_year.push(PopulationRow {
                    total: row.optional_count("pop_total", problems),
                    male: row.optional_count("pop_male", problems),
                    female: row.optional_count("pop_female", problems),
                    households: row.optional_count("households", problems),
                    code,
                    year,
                    current,
                });
            },
        )?;
        let population_year = population_by_year.iter().map(|r| r.year).max().unwrap_or(0);
        if population_by_year.is_empty() {
            problems.add(POPULATION_FILE, Location::File, "no rows");
        }
        for row in population_by_year
            .iter()
            .filter(|r| r.year == population_year && r.current)
        {
            if let Some(area) = known.get(&row.code)
                && row.total != Some(area.population.total)
            {
                problems.add(
                    POPULATION_FILE,
                    Location::File,
                    format!(
                        "{} in {}: pop_total {:?} differs from {SUBDISTRICT_FILE} ({})",
                        row.code, row.year, row.total, area.population.total
                    ),
                );
            }
        }

        // Boundaries: every province and district has its polygon, every tambon's geom_code names one.
        let mut boundaries = Vec::new();
        for (file, level) in [
            (PROVINCE_LAYER, Level::Province),
            (DISTRICT_LAYER, Level::District),
            (SUBDISTRICT_LAYER, Level::Subdistrict),
        ] {
            read_layer(&dir, file, level, &mut boundaries, &mut problems)?;
        }
        let polygons: HashSet<(Level, &AreaCode)> =
            boundaries.iter().map(|b| (b.level, &b.code)).collect();
        let mut used: HashSet<&AreaCode> = HashSet::new();
        for area in &areas {
            if polygons.contains(&(area.level, &area.geom_code)) {
                if area.level == Level::Subdistrict {
                    used.insert(&area.geom_code);
                }
                continue;
            }
            let (file, what) = match area.level {
                Level::Province => (PROVINCE_LAYER, "province"),
                Level::District => (DISTRICT_LAYER, "district"),
                _ => (SUBDISTRICT_LAYER, "tambon"),
            };
            problems.add(
                file,
                Location::File,
                format!(
                    "no polygon {} for {what} {} ({})",
                    area.geom_code, area.code, area.name_en
                ),
            );
        }
        for (index, b) in boundaries.iter().enumerate() {
            let orphan = match b.level {
                Level::Subdistrict => !used.contains(&b.code),
                _ => !known.contains_key(&b.code),
            };
            if orphan {
                let file = match b.level {
                    Level::Province => PROVINCE_LAYER,
                    Level::District => DISTRICT_LAYER,
                    _ => SUBDISTRICT_LAYER,
                };
                problems.add(
                    file,
                    Location::Feature {
                        index,
                        code: Some(b.code.to_string()),
                    },
                    "polygon belongs to no area of the CSV files",
                );
            }
        }

        if !problems.0.is_empty() {
            return Err(BundleError::Invalid {
                dir,
                problems: problems.0,
            });
        }
        Ok(Bundle {
            dir,
            areas,
            population_by_year,
            boundaries,
            population_year,
        })
    }

    /// Total population of the provinces (the national total).
    pub fn national_population(&self) -> i64 {
        self.areas
            .iter()
            .filter(|a| a.level == Level::Province)
            .map(|a| a.population.total)
            .sum()
    }

    /// Number of areas at `level`.
    pub fn count(&self, level: Level) -> usize {
        self.areas.iter().filter(|a| a.level == level).count()
    }

    /// Areas by code.
    pub fn by_code(&self) -> BTreeMap<&AreaCode, &Area> {
        self.areas.iter().map(|a| (&a.code, a)).collect()
    }
}

fn read_layer(
    dir: &Path,
    file: &'static str,
    level: Level,
    out: &mut Vec<Boundary>,
    problems: &mut Problems,
) -> Result<(), BundleError> {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).map_err(|source| BundleError::Io {
        path: path.clone(),
        source,
    })?;
    let collection = match text.parse::<geojson::GeoJson>() {
        Ok(geojson::GeoJson::FeatureCollection(fc)) => fc,
        Ok(_) => {
            problems.add(file, Location::File, "not a GeoJSON FeatureCollection");
            return Ok(());
        }
        Err(e) => {
            problems.add(file, Location::File, format!("not valid GeoJSON: {e}"));
            return Ok(());
        }
    };
    let mut codes: HashMap<AreaCode, usize> = HashMap::new();
    for (index, feature) in collection.features.into_iter().enumerate() {
        let code_text = feature
            .property("code")
            .and_then(|v| v.as_str().map(str::to_string));
        let location = Location::Feature {
            index,
            code: code_text.clone(),
        };
        let Some(code_text) = code_text else {
            problems.add(file, location, "no string property \"code\"");
            continue;
        };
        let code = match AreaCode::parse(&code_text) {
            Ok(c) if c.level() == level => c,
            Ok(_) => {
                problems.add(file, location, format!("code is not a {level} code"));
                continue;
            }
            Err(e) => {
                problems.add(file, location, e.to_string());
                continue;
            }
        };
        if let Some(first) = codes.insert(code.clone(), index) {
            problems.add(
                file,
                location,
                format!("duplicate polygon code (first at feature {first})"),
            );
            continue;
        }
        let Some(geometry) = feature.geometry else {
            problems.add(file, location, "has no geometry");
            continue;
        };
        if let Err(message) = check_geometry(&geometry.value) {
            problems.add(file, location, message);
            continue;
        }
        out.push(Boundary {
            level,
            code,
            geometry,
        });
    }
    Ok(())
}

/// A boundary must be a Polygon or MultiPolygon of closed rings of at least four WGS84 positions.
fn check_geometry(value: &geojson::GeometryValue) -> Result<(), String> {
    let polygons: Vec<&geojson::PolygonType> = match value {
        geojson::GeometryValue::Polygon { coordinates } => vec![coordinates],
        geojson::GeometryValue::MultiPolygon { coordinates } => coordinates.iter().collect(),
        other => {
            return Err(format!(
                "geometry is a {}, not a Polygon or MultiPolygon",
                other.type_name()
            ));
        }
    };
    if polygons.is_empty() {
        return Err("MultiPolygon has no polygons".into());
    }
    for polygon in polygons {
        if polygon.is_empty() {
            return Err("polygon has no rings".into());
        }
        for ring in polygon {
            if ring.len() < 4 {
                return Err(format!(
                    "ring of {} positions; a closed ring needs at least 4",
                    ring.len()
                ));
            }
            if ring.first() != ring.last() {
                return Err("ring is not closed (first and last positions differ)".into());
            }
            for position in ring {
                let [lon, lat, ..] = position.as_slice() else {
                    return Err("position with fewer than 2 coordinates".into());
                };
                if !(-180.0..=180.0).contains(lon) || !(-90.0..=90.0).contains(lat) {
                    return Err(format!(
                        "position [{lon}, {lat}] is not WGS84 longitude/latitude"
                    ));
                }
            }
        }
    }
    Ok(())
}
