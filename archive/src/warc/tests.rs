use super::*;
use crate::testfiles::{gz, record};
use std::io::Cursor;

fn three() -> Vec<Vec<u8>> {
    (1..=3)
        .map(|i| {
            record(
                "response",
                &format!("http://a.test/{i}"),
                &format!("2024-01-0{i}T00:00:00Z"),
                format!("HTTP/1.1 200 OK\r\n\r\nbody {i}").as_bytes(),
            )
        })
        .collect()
}

fn read_all(bytes: &[u8], cap: usize) -> Vec<Item> {
    let mut r = WarcReader::new(Cursor::new(bytes), cap).unwrap();
    std::iter::from_fn(|| r.next_item()).collect()
}

fn records(items: &[Item]) -> Vec<&Record> {
    items
        .iter()
        .filter_map(|i| match i {
            Item::Record(r) => Some(r),
            Item::Problem { .. } => None,
        })
        .collect()
}

fn problems(items: &[Item]) -> Vec<&Problem> {
    items
        .iter()
        .filter_map(|i| match i {
            Item::Problem { problem, .. } => Some(problem),
            Item::Record(_) => None,
        })
        .collect()
}

fn uris(items: &[Item]) -> Vec<String> {
    records(items)
        .iter()
        .map(|r| r.header("WARC-Target-URI").unwrap_or("").to_string())
        .collect()
}

#[test]
fn plain_records_have_their_headers_blocks_and_byte_positions() {
    let recs = three();
    let file: Vec<u8> = recs.concat();
    let items = read_all(&file, 1 << 20);
    let rs = records(&items);
    assert_eq!(rs.len(), 3);
    assert_eq!(rs[0].header("warc-type"), Some("response"));
    assert_eq!(rs[1].header("WARC-Date"), Some("2024-01-02T00:00:00Z"));
    assert!(rs[2].block.ends_with(b"body 3"));
    assert_eq!(rs[0].position, Position::default());
    assert_eq!(rs[1].position.member, recs[0].len() as u64);
    assert_eq!(rs[0].end, rs[1].position);
    assert_eq!(rs[2].end.member, file.len() as u64);
    assert_eq!(rs[0].bytes, recs[0].len() as u64);
}

#[test]
fn gzip_member_per_record_positions_are_member_offsets_and_resume_there() {
    let members: Vec<Vec<u8>> = three().iter().map(|r| gz(r)).collect();
    let file = members.concat();
    let items = read_all(&file, 1 << 20);
    let rs = records(&items);
    assert_eq!(rs.len(), 3);
    let second = members[0].len() as u64;
    assert_eq!(
        rs[1].position,
        Position {
            member: second,
            skip: 0
        }
    );
    assert_eq!(rs[0].end, rs[1].position);
    // Resume at the second member: the reader sees records 2 and 3 only.
    let mut r = WarcReader::resume(
        Cursor::new(&file[second as usize..]),
        rs[1].position,
        1 << 20,
    )
    .unwrap();
    let rest: Vec<Item> = std::iter::from_fn(|| r.next_item()).collect();
    assert_eq!(uris(&rest), vec!["http://a.test/2", "http://a.test/3"]);
    assert_eq!(records(&rest)[0].position, rs[1].position);
}

#[test]
fn one_gzip_member_for_the_whole_file_resumes_by_skipping_decompressed_bytes() {
    let recs = three();
    let file = gz(&recs.concat());
    let items = read_all(&file, 1 << 20);
    let rs = records(&items);
    assert_eq!(rs.len(), 3);
    assert_eq!(
        rs[2].position,
        Position {
            member: 0,
            skip: (recs[0].len() + recs[1].len()) as u64
        }
    );
    let mut r = WarcReader::resume(Cursor::new(&file[..]), rs[2].position, 1 << 20).unwrap();
    let rest: Vec<Item> = std::iter::from_fn(|| r.next_item()).collect();
    assert_eq!(uris(&rest), vec!["http://a.test/3"]);
}

#[test]
fn a_truncated_last_record_is_reported_and_the_others_kept() {
    let recs = three();
    let plain = recs.concat();
    let cut = &plain[..plain.len() - 4 - 3];
    let items = read_all(cut, 1 << 20);
    assert_eq!(uris(&items), vec!["http://a.test/1", "http://a.test/2"]);
    assert_eq!(problems(&items), vec![&Problem::Truncated]);

    let members: Vec<Vec<u8>> = recs.iter().map(|r| gz(r)).collect();
    let file = members.concat();
    let cut = &file[..file.len() - members[2].len() / 2];
    let items = read_all(cut, 1 << 20);
    assert_eq!(uris(&items), vec!["http://a.test/1", "http://a.test/2"]);
    assert_eq!(problems(&items).len(), 1);
}

#[test]
fn a_corrupt_gzip_member_is_skipped_and_reading_goes_on_at_the_next() {
    let mut members: Vec<Vec<u8>> = three().iter().map(|r| gz(r)).collect();
    // Damage the deflate data of the middle member (keep its header).
    let m = &mut members[1];
    let end = m.len() - 8;
    for b in m[12..end].iter_mut() {
        *b ^= 0x5a;
    }
    let file = members.concat();
    let items = read_all(&file, 1 << 20);
    assert_eq!(uris(&items), vec!["http://a.test/1", "http://a.test/3"]);
    assert_eq!(problems(&items).len(), 1);
}

#[test]
fn garbage_between_plain_records_is_skipped_to_the_next_record() {
    let recs = three();
    let mut file = recs[0].clone();
    file.extend_from_slice(b"this is not a record\r\nnor this\r\n");
    file.extend_from_slice(&recs[1]);
    // A record with no Content-Length.
    file.extend_from_slice(b"WARC/1.0\r\nWARC-Type: response\r\n\r\n");
    file.extend_from_slice(&recs[2]);
    let items = read_all(&file, 1 << 20);
    assert_eq!(
        uris(&items),
        vec!["http://a.test/1", "http://a.test/2", "http://a.test/3"]
    );
    assert_eq!(problems(&items).len(), 2);
}

#[test]
fn blocks_longer_than_the_cap_are_cut_and_the_next_record_still_read() {
    let big = record(
        "resource",
        "http://a.test/big",
        "2024-01-01T00:00:00Z",
        &[b'x'; 5000],
    );
    let file = [big, three()[0].clone()].concat();
    let items = read_all(&file, 100);
    let rs = records(&items);
    assert_eq!(rs.len(), 2);
    assert!(rs[0].truncated && rs[0].block.len() == 100);
    assert!(!rs[1].truncated);
    assert_eq!(rs[1].header("WARC-Target-URI"), Some("http://a.test/1"));
}

#[test]
fn positions_round_trip_as_text() {
    let p = Position {
        member: 123,
        skip: 45,
    };
    assert_eq!(Position::decode(&p.encode()), Some(p));
    assert_eq!(Position::decode("x:1"), None);
}
