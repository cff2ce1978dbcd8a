//! Tests of CAR export, import, the reader and the header codec.

use super::header::{cbor_head, MAJOR_BYTES};
use super::*;
use crate::block::{self, BlockSink, BlockSource, MemoryBlocks};
use crate::cid::{varint, Multihash, DAG_PB, RAW};
use crate::dagpb::{PbLink, PbNode};

fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

fn pb_node(links: &[&Cid], data: &[u8]) -> Vec<u8> {
    PbNode {
        links: links
            .iter()
            .map(|cid| PbLink {
                cid: (*cid).clone(),
                name: Some(String::new()),
                tsize: Some(1),
            })
            .collect(),
        data: Some(data.to_vec()),
    }
    .encode()
}

fn put_raw(store: &MemoryBlocks, data: &[u8]) -> Cid {
    let cid = Cid::v1_sha2_256(RAW, data);
    store.put(&cid, data).unwrap();
    cid
}

fn put_pb_v1(store: &MemoryBlocks, links: &[&Cid], data: &[u8]) -> Cid {
    let bytes = pb_node(links, data);
    let cid = Cid::v1_sha2_256(DAG_PB, &bytes);
    store.put(&cid, &bytes).unwrap();
    cid
}

fn put_pb_v0(store: &MemoryBlocks, links: &[&Cid], data: &[u8]) -> Cid {
    let bytes = pb_node(links, data);
    let cid = Cid::new_v0(Multihash::sha2_256(&bytes)).unwrap();
    store.put(&cid, &bytes).unwrap();
    cid
}

/// A DAG with raw leaves, CIDv1 and CIDv0 dag-pb nodes, and a leaf linked three times.
struct Dag {
    store: MemoryBlocks,
    roots: Vec<Cid>,
    /// Every block, in the order export must write them for `roots`.
    order: Vec<Cid>,
}

fn dag() -> Dag {
    let store = MemoryBlocks::new();
    let a = put_raw(&store, b"alpha");
    let b = put_raw(&store, b"beta");
    let c = put_raw(&store, b"gamma");
    let shared = put_raw(&store, b"shared leaf");
    let left = put_pb_v1(&store, &[&a, &shared], b"left");
    let right = put_pb_v0(&store, &[&shared, &b], b"right");
    let root = put_pb_v1(&store, &[&left, &right, &shared], b"root");
    // A second root, CIDv0, sharing `right` with the first.
    let other = put_pb_v0(&store, &[&right, &c], b"other");
    // A block not reachable from the roots: must not be exported.
    put_raw(&store, b"unreachable");
    Dag {
        store,
        roots: vec![root.clone(), other.clone()],
        order: vec![root, left, a, shared, right, b, other, c],
    }
}

fn export_bytes(source: &dyn BlockSource, roots: &[Cid]) -> Vec<u8> {
    let mut out = Vec::new();
    let report = export(source, roots, &mut out).unwrap();
    assert_eq!(report.car_bytes, out.len() as u64);
    out
}

fn read_all(car: &[u8]) -> (Vec<Cid>, Vec<CarBlock>) {
    let mut reader = CarReader::new(car).unwrap();
    let mut blocks = Vec::new();
    while let Some(block) = reader.next_block().unwrap() {
        blocks.push(block);
    }
    assert_eq!(reader.offset(), car.len() as u64);
    (reader.roots().to_vec(), blocks)
}

/// Imports `car` into a fresh store; every block stored, even on error, must be one of
/// `original`'s blocks, byte for byte.
fn import_checked(car: &[u8], original: &MemoryBlocks) -> Result<ImportReport, CarError> {
    let sink = MemoryBlocks::new();
    let result = import(&mut &car[..], &sink);
    for (cid, data) in sink.blocks() {
        block::verify(&cid, &data).unwrap();
        assert_eq!(
            original.get_unverified(&cid).unwrap().as_deref(),
            Some(&data[..]),
            "{cid} was stored with other bytes"
        );
    }
    result
}

#[test]
fn export_writes_depth_first_pre_order_without_duplicates_and_round_trips() {
    let dag = dag();
    let car = export_bytes(&dag.store, &dag.roots);
    let (roots, blocks) = read_all(&car);
    assert_eq!(roots, dag.roots);
    let order: Vec<Cid> = blocks.iter().map(|b| b.cid.clone()).collect();
    assert_eq!(order, dag.order);
    for block in &blocks {
        let stored = dag.store.get_unverified(&block.cid).unwrap().unwrap();
        assert_eq!(block.data, stored);
    }

    let sink = MemoryBlocks::new();
    let report = import(&mut car.as_slice(), &sink).unwrap();
    assert_eq!(report.roots, dag.roots);
    assert_eq!(report.blocks, dag.order.len());
    assert_eq!(report.duplicates, 0);
    assert_eq!(report.car_bytes, car.len() as u64);
    assert_eq!(sink.len(), dag.order.len());
    for cid in &dag.order {
        assert_eq!(
            sink.get_unverified(cid).unwrap(),
            dag.store.get_unverified(cid).unwrap()
        );
    }

    // Export again from the imported store: identical bytes.
    let again = export_bytes(&sink, &report.roots);
    assert_eq!(again, car);
    let mut out = Vec::new();
    let exported = export(&sink, &report.roots, &mut out).unwrap();
    assert_eq!(exported.blocks, report.blocks);
    assert_eq!(exported.bytes, report.bytes);
}

#[test]
fn deep_dags_do_not_overflow_the_stack() {
    let store = MemoryBlocks::new();
    let mut cid = put_raw(&store, b"bottom");
    for i in 0..100_000u32 {
        cid = put_pb_v1(&store, &[&cid], &i.to_le_bytes());
    }
    let car = export_bytes(&store, &[cid]);
    let sink = MemoryBlocks::new();
    let report = import(&mut car.as_slice(), &sink).unwrap();
    assert_eq!(report.blocks, 100_001);
}

#[test]
fn header_for_one_cidv1_root_is_the_go_car_bytes() {
    let root: Cid = "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"
        .parse()
        .unwrap();
    // 0x3a = 58 bytes: map(2) "roots" array(1) tag(42) bytes(37) 00 <CIDv1: 01 55 12 20
    // sha2-256("hello world")> "version" 1.
    let expected = hex("3a a2 65 726f6f7473 81 d8 2a 58 25 00 01 55 12 20
         b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9
         67 76657273696f6e 01");
    assert_eq!(encode_header(std::slice::from_ref(&root)), expected);
    assert_eq!(read_header(&mut expected.as_slice()).unwrap(), vec![root]);

    // A CIDv0 root is 34 bytes: bytes(35) = 58 23.
    let v0: Cid = "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"
        .parse()
        .unwrap();
    let header = encode_header(std::slice::from_ref(&v0));
    assert_eq!(
        &header[..16],
        &hex("38 a2 65 726f6f7473 81 d8 2a 58 23 00 12 20")[..]
    );
    assert_eq!(read_header(&mut header.as_slice()).unwrap(), vec![v0]);
}

#[test]
fn header_reader_is_strict_and_names_the_rule() {
    let root = Cid::v1_sha2_256(RAW, b"x");
    let mut cid = vec![0x00];
    cid.extend(root.to_bytes());
    let tagged = |cid: &[u8]| {
        let mut out = hex("d8 2a");
        cbor_head(MAJOR_BYTES, cid.len() as u64, &mut out);
        out.extend_from_slice(cid);
        out
    };
    let with_len = |body: Vec<u8>| {
        let mut out = Vec::new();
        varint::write(body.len() as u64, &mut out);
        out.extend(body);
        out
    };
    let roots_entry = [hex("65 726f6f7473 81"), tagged(&cid)].concat();
    let version_entry = hex("67 76657273696f6e 01");

    // Keys in the other order are accepted.
    let reversed = with_len([hex("a2"), version_entry.clone(), roots_entry.clone()].concat());
    assert_eq!(
        read_header(&mut reversed.as_slice()).unwrap(),
        vec![root.clone()]
    );
    // No roots is accepted.
    let empty = with_len(hex("a2 65 726f6f7473 80 67 76657273696f6e 01"));
    assert_eq!(read_header(&mut empty.as_slice()).unwrap(), vec![]);

    let bad: Vec<(Vec<u8>, &str)> = vec![
        (vec![], "empty"),
        (hex("00"), "length is 0"),
        (hex("80 00"), "not a minimally encoded varint"),
        (hex("80 80 80 80 80 80 80 80 80 01"), "longer than 9 bytes"),
        (hex("ff ff ff 7f"), "over the 1048576-byte limit"),
        (hex("05 a2 65"), "only 2 follow"),
        (
            with_len(hex("a1 67 76657273696f6e 02")),
            "CAR version 2 is not supported",
        ),
        (
            with_len([hex("a1"), roots_entry.clone()].concat()),
            "no \"version\"",
        ),
        (
            with_len([hex("a1"), version_entry.clone()].concat()),
            "no \"roots\"",
        ),
        (
            with_len(hex("a2 65 726f6f7473 80 67 76657273696f6e 18 01")),
            "shortest form",
        ),
        (
            with_len(hex("a2 65 726f6f7473 80 67 76657273696f6e 20")),
            "found a negative integer",
        ),
        (
            with_len(hex("bf 65 726f6f7473 80 67 76657273696f6e 01 ff")),
            "indefinite length",
        ),
        (
            with_len(hex("a3 65 726f6f7473 80 67 76657273696f6e 01 63 666f6f 01")),
            "unknown key \"foo\"",
        ),
        (
            with_len([hex("a3"), version_entry.clone(), version_entry.clone()].concat()),
            "\"version\" appears twice",
        ),
        (
            with_len(
                [
                    hex("a2"),
                    roots_entry.clone(),
                    version_entry.clone(),
                    hex("00"),
                ]
                .concat(),
            ),
            "1 bytes follow the header map",
        ),
        (
            with_len(
                [
                    hex("a2 65 726f6f7473 81 d8 2b 41 00"),
                    version_entry.clone(),
                ]
                .concat(),
            ),
            "tag 43, not 42",
        ),
        (
            with_len(
                [
                    hex("a2 65 726f6f7473 81"),
                    tagged(&root.to_bytes()),
                    version_entry.clone(),
                ]
                .concat(),
            ),
            "not the 0x00 prefix",
        ),
        (
            with_len(
                [
                    hex("a2 65 726f6f7473 81"),
                    tagged(&cid[..10]),
                    version_entry.clone(),
                ]
                .concat(),
            ),
            "root 0: malformed CID",
        ),
        (
            with_len([hex("a2 65 726f6f7473 a0"), version_entry.clone()].concat()),
            "expected the roots array, found a map",
        ),
        (
            with_len([hex("a2 65 726f6f7473 81 f6"), version_entry.clone()].concat()),
            "found null",
        ),
    ];
    for (car, rule) in bad {
        let err = read_header(&mut car.as_slice()).unwrap_err().to_string();
        assert!(err.contains(rule), "{car:02x?}: {err}");
        assert!(err.contains("at byte"), "{err}");
    }
}

#[test]
fn every_single_bit_flip_is_detected() {
    let dag = dag();
    let car = export_bytes(&dag.store, &dag.roots);
    for pos in 0..car.len() {
        for bit in 0..8 {
            let mut flipped = car.clone();
            flipped[pos] ^= 1 << bit;
            assert!(
                import_checked(&flipped, &dag.store).is_err(),
                "a flip of bit {bit} at byte {pos} went unnoticed"
            );
        }
    }
}

#[test]
fn a_flipped_block_byte_is_a_mismatch_naming_the_cid_and_offset() {
    let dag = dag();
    let car = export_bytes(&dag.store, &dag.roots);
    let (_, blocks) = read_all(&car);
    for (i, block) in blocks.iter().enumerate() {
        let data_start =
            car.len() - block.data.len() - blocks[i + 1..].iter().map(section_len).sum::<usize>();
        for pos in data_start..data_start + block.data.len() {
            let mut flipped = car.clone();
            flipped[pos] ^= 0x01;
            let sink = MemoryBlocks::new();
            let err = import(&mut flipped.as_slice(), &sink).unwrap_err();
            let message = err.to_string();
            match err {
                CarError::Section {
                    offset,
                    source: BlockError::Mismatch { cid },
                } => {
                    assert_eq!(offset, block.offset);
                    assert_eq!(cid, block.cid);
                }
                other => panic!("{other}"),
            }
            assert!(message.contains(&block.cid.to_string()), "{message}");
            assert!(
                message.contains(&format!("byte {}", block.offset)),
                "{message}"
            );
            // Nothing from the bad section on was stored.
            let stored: Vec<Cid> = blocks[..i].iter().map(|b| b.cid.clone()).collect();
            let mut got: Vec<Cid> = sink.blocks().into_iter().map(|(c, _)| c).collect();
            got.sort();
            let mut want = stored.clone();
            want.sort();
            assert_eq!(got, want);
        }
    }
}

fn section_len(block: &CarBlock) -> usize {
    let len = block.cid.to_bytes().len() + block.data.len();
    let mut prefix = Vec::new();
    varint::write(len as u64, &mut prefix);
    prefix.len() + len
}

#[test]
fn a_flip_in_a_digest_makes_another_cid_whose_hash_check_fails() {
    let dag = dag();
    let car = export_bytes(&dag.store, &dag.roots);
    let (_, blocks) = read_all(&car);
    for block in &blocks {
        // The last digest byte of the section's CID: 1 length byte here, then the CID.
        let cid_len = block.cid.to_bytes().len();
        let pos = block.offset as usize + 1 + cid_len - 1;
        let mut flipped = car.clone();
        flipped[pos] ^= 0x80;
        match import_checked(&flipped, &dag.store) {
            Err(CarError::Section {
                offset,
                source: BlockError::Mismatch { cid },
            }) => {
                assert_eq!(offset, block.offset);
                assert_ne!(cid, block.cid);
                assert_eq!(cid.codec(), block.cid.codec());
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn truncation_at_every_length_is_an_error() {
    let dag = dag();
    let car = export_bytes(&dag.store, &dag.roots);
    let (_, blocks) = read_all(&car);
    for len in 0..car.len() {
        let err = import_checked(&car[..len], &dag.store).unwrap_err();
        let message = err.to_string();
        match &err {
            CarError::Truncated { offset, .. } => assert_eq!(*offset, len as u64),
            CarError::MissingRoot { .. } | CarError::MissingLink { .. } => {
                // Cut at a section boundary: only the closure check can tell.
                let at_boundary = len == encode_header(&dag.roots).len()
                    || blocks.iter().any(|b| b.offset == len as u64);
                assert!(at_boundary, "{len}: {message}");
            }
            other => panic!("{len}: {other}"),
        }
    }
    import_checked(&car, &dag.store).unwrap();
}

#[test]
fn corrupt_or_missing_source_blocks_fail_the_export_naming_the_cid() {
    let dag = dag();
    let victim = dag.order[4].clone();
    dag.store.overwrite(&victim, b"not the block".to_vec());
    let err = export(&dag.store, &dag.roots, &mut Vec::new()).unwrap_err();
    assert!(
        matches!(&err, CarError::Block(BlockError::Mismatch { cid }) if *cid == victim),
        "{err}"
    );
    assert!(err.to_string().contains(&victim.to_string()), "{err}");

    let missing = Cid::v1_sha2_256(RAW, b"nowhere");
    let err = export(&dag.store, std::slice::from_ref(&missing), &mut Vec::new()).unwrap_err();
    assert!(matches!(&err, CarError::Block(BlockError::NotFound(c)) if *c == missing));
    assert!(err.to_string().contains(&missing.to_string()));

    assert!(matches!(
        export(&dag.store, &[], &mut Vec::new()),
        Err(CarError::NoRoots)
    ));
}

fn car_of(roots: &[Cid], sections: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut car = encode_header(roots);
    for (cid, data) in sections {
        varint::write((cid.len() + data.len()) as u64, &mut car);
        car.extend_from_slice(cid);
        car.extend_from_slice(data);
    }
    car
}

#[test]
fn unknown_codecs_and_hash_functions_are_errors_naming_the_cid() {
    let cbor = Cid::v1_sha2_256(0x71, b"\xa0");
    let car = car_of(
        std::slice::from_ref(&cbor),
        &[(cbor.to_bytes(), b"\xa0".to_vec())],
    );
    let err = import(&mut car.as_slice(), &MemoryBlocks::new()).unwrap_err();
    assert!(
        matches!(
            &err,
            CarError::Section {
                source: BlockError::UnknownCodec { codec: 0x71, .. },
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains(&cbor.to_string()), "{err}");

    let sha512 = Cid::new_v1(RAW, Multihash::new(0x13, vec![7; 64]));
    let car = car_of(
        std::slice::from_ref(&sha512),
        &[(sha512.to_bytes(), b"data".to_vec())],
    );
    let err = import(&mut car.as_slice(), &MemoryBlocks::new()).unwrap_err();
    assert!(
        matches!(
            &err,
            CarError::Section {
                source: BlockError::UnsupportedHash { .. },
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains(&sha512.to_string()), "{err}");
}

#[test]
fn sections_are_checked_for_length_and_cid() {
    let leaf = Cid::v1_sha2_256(RAW, b"leaf");
    let header = encode_header(std::slice::from_ref(&leaf));
    let at = header.len();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (hex("00"), "section length is 0"),
        (hex("81 00"), "not a minimally encoded varint"),
        (hex("ff ff ff 7f"), "over the 2097408-byte limit"),
        (hex("80"), "ends early"),
        (hex("05 02 55 12 20 00"), "the section's CID"),
    ];
    for (tail, rule) in cases {
        let car = [header.clone(), tail].concat();
        let err = import(&mut car.as_slice(), &MemoryBlocks::new()).unwrap_err();
        let message = err.to_string();
        assert!(message.contains(rule), "{message}");
        assert!(message.contains(&format!("byte {at}")), "{message}");
    }
    // A truncated section names the block when its CID is there.
    let car = car_of(
        std::slice::from_ref(&leaf),
        &[(leaf.to_bytes(), b"leaf".to_vec())],
    );
    let err = import(&mut &car[..car.len() - 1], &MemoryBlocks::new()).unwrap_err();
    assert!(err.to_string().contains(&leaf.to_string()), "{err}");
}

#[test]
fn duplicates_are_verified_and_stored_once_and_incomplete_cars_fail() {
    let store = MemoryBlocks::new();
    let leaf = put_raw(&store, b"leaf");
    let node = put_pb_v1(&store, &[&leaf], b"node");
    let node_bytes = store.get_unverified(&node).unwrap().unwrap();
    let sections = [
        (node.to_bytes(), node_bytes.clone()),
        (leaf.to_bytes(), b"leaf".to_vec()),
        (leaf.to_bytes(), b"leaf".to_vec()),
    ];
    let car = car_of(std::slice::from_ref(&node), &sections);
    let sink = MemoryBlocks::new();
    let report = import(&mut car.as_slice(), &sink).unwrap();
    assert_eq!(
        (report.blocks, report.duplicates, report.bytes),
        (2, 1, node_bytes.len() as u64 + 4)
    );
    assert_eq!(sink.len(), 2);

    // A corrupt duplicate is still an error.
    let mut bad = sections.to_vec();
    bad[2].1 = b"lea!".to_vec();
    let err = import(
        &mut car_of(std::slice::from_ref(&node), &bad).as_slice(),
        &MemoryBlocks::new(),
    );
    assert!(matches!(
        err,
        Err(CarError::Section {
            source: BlockError::Mismatch { .. },
            ..
        })
    ));

    // A missing child, a missing root.
    let car = car_of(std::slice::from_ref(&node), &sections[..1]);
    let err = import(&mut car.as_slice(), &MemoryBlocks::new()).unwrap_err();
    assert!(
        matches!(&err, CarError::MissingLink { cid, parent, missing: 1 } if *cid == leaf && *parent == node),
        "{err}"
    );
    assert!(err.to_string().contains(&leaf.to_string()));
    let car = car_of(std::slice::from_ref(&node), &sections[1..2]);
    let err = import(&mut car.as_slice(), &MemoryBlocks::new()).unwrap_err();
    assert!(
        matches!(&err, CarError::MissingRoot { cid } if *cid == node),
        "{err}"
    );
}

#[test]
fn identity_blocks_are_written_from_their_cid() {
    let store = MemoryBlocks::new();
    let inline = Cid::new_v1(RAW, Multihash::new(IDENTITY, b"tiny".to_vec()));
    let node = put_pb_v1(&store, &[&inline], b"node");
    let car = export_bytes(&store, std::slice::from_ref(&node));
    let (_, blocks) = read_all(&car);
    assert_eq!(blocks[1].cid, inline);
    assert_eq!(blocks[1].data, b"tiny");
    let sink = MemoryBlocks::new();
    assert_eq!(import(&mut car.as_slice(), &sink).unwrap().blocks, 2);
}

#[test]
fn read_header_leaves_the_input_at_the_first_section() {
    let dag = dag();
    let car = export_bytes(&dag.store, &dag.roots);
    let mut input = car.as_slice();
    assert_eq!(read_header(&mut input).unwrap(), dag.roots);
    assert_eq!(input.len(), car.len() - encode_header(&dag.roots).len());
}

// Interop fixtures, copied as hex from ipld/js-car `test/common.js` (commit
// 00f4d8b5e381be74979bbb7c6de2ebec3c032fd3), where they are CARs written by go-car.
//
// `goCarBytes`: the CAR v1 of the spec's carv1-basic fixture
// (https://ipld.io/specs/transport/car/fixture/carv1-basic/): two dag-cbor roots, then
// dag-cbor, dag-pb (CIDv0) and raw blocks, in go-car's depth-first order.
const GO_CAR_V1_BASIC_HEX: &str = concat!(
    "63a265726f6f747382d82a58250001711220f88bc853804cf294fe417e4fa83028689fcdb1b1592c5102e147",
    "4dbc200fab8bd82a5825000171122069ea0740f9807a28f4d932c62e7c1c83be055e55072c90266ab3e79df6",
    "3a365b6776657273696f6e015b01711220f88bc853804cf294fe417e4fa83028689fcdb1b1592c5102e1474d",
    "bc200fab8ba2646c696e6bd82a582300122002acecc5de2438ea4126a3010ecb1f8a599c8eff22fff1a1dcff",
    "e999b27fd3de646e616d6564626c69708301122002acecc5de2438ea4126a3010ecb1f8a599c8eff22fff1a1",
    "dcffe999b27fd3de122e0a2401551220b6fbd675f98e2abd22d4ed29fdc83150fedc48597e92dd1a7a24381d",
    "44a274511204626561721804122f0a22122079a982de3c9907953d4d323cee1d0fb1ed8f45f8ef02870c0cb9",
    "e09246bd530a12067365636f6e641895012801551220b6fbd675f98e2abd22d4ed29fdc83150fedc48597e92",
    "dd1a7a24381d44a27451636363638001122079a982de3c9907953d4d323cee1d0fb1ed8f45f8ef02870c0cb9",
    "e09246bd530a122d0a240155122081cc5b17018674b401b42f35ba07bb79e211239c23bffe658da1577e3e64",
    "68771203646f671804122d0a221220e7dc486e97e6ebe5cdabab3e392bdad128b6e09acc94bb4e2aa2af7b98",
    "6d24d0120566697273741833280155122081cc5b17018674b401b42f35ba07bb79e211239c23bffe658da157",
    "7e3e64687762626262511220e7dc486e97e6ebe5cdabab3e392bdad128b6e09acc94bb4e2aa2af7b986d24d0",
    "122d0a240155122061be55a8e2f6b4e172338bddf184d6dbee29c98853e0a0485ecee7f27b9af0b412036361",
    "741804280155122061be55a8e2f6b4e172338bddf184d6dbee29c98853e0a0485ecee7f27b9af0b461616161",
    "360171122069ea0740f9807a28f4d932c62e7c1c83be055e55072c90266ab3e79df63a365ba2646c696e6bf6",
    "646e616d65656c696d626f",
);
// `goCarV2Bytes`: a CAR v2 whose CAR v1 payload (data offset 51, size 448, from its header)
// holds a DAG of only dag-pb (CIDv0) and raw blocks under one CIDv0 root.
const GO_CAR_V2_BASIC_HEX: &str = concat!(
    "0aa16776657273696f6e02000000000000000000000000000000003300000000000000c001000000000000f3",
    "0100000000000038a265726f6f747381d82a5823001220fb16f5083412ef1371d031ed4aa239903d84efdadf",
    "1ba3cd678e6475b1a232f86776657273696f6e01511220fb16f5083412ef1371d031ed4aa239903d84efdadf",
    "1ba3cd678e6475b1a232f8122d0a221220d9c0d5376d26f1931f7ad52d7acc00fc1090d2edb0808bf61eeb0a",
    "152826f6261204f09f8da418a40185011220d9c0d5376d26f1931f7ad52d7acc00fc1090d2edb0808bf61eeb",
    "0a152826f62612310a221220d745b7757f5b4593eeab7820306c7bc64eb496a7410a0d07df7a34ffec4b97f1",
    "120962617272656c657965183a122e0a2401551220a2e1c40da1ae335d4dffe729eb4d5ca23b74b9e51fc535",
    "f4a804a261080c294d1204f09f90a11807581220d745b7757f5b4593eeab7820306c7bc64eb496a7410a0d07",
    "df7a34ffec4b97f112340a2401551220b474a99a2705e23cf905a484ec6d14ef58b56bbe62e9292783466ec3",
    "63b5072d120a666973686d6f6e67657218042801551220b474a99a2705e23cf905a484ec6d14ef58b56bbe62",
    "e9292783466ec363b5072d666973682b01551220a2e1c40da1ae335d4dffe729eb4d5ca23b74b9e51fc535f4",
    "a804a261080c294d6c6f62737465720100000028000000c800000000000000a2e1c40da1ae335d4dffe729eb",
    "4d5ca23b74b9e51fc535f4a804a261080c294d9401000000000000b474a99a2705e23cf905a484ec6d14ef58",
    "b56bbe62e9292783466ec363b5072d6b01000000000000d745b7757f5b4593eeab7820306c7bc64eb496a741",
    "0a0d07df7a34ffec4b97f11201000000000000d9c0d5376d26f1931f7ad52d7acc00fc1090d2edb0808bf61e",
    "eb0a152826f6268b00000000000000fb16f5083412ef1371d031ed4aa239903d84efdadf1ba3cd678e6475b1",
    "a232f83900000000000000",
);

/// The CAR v1 payload of the CAR v2 fixture, located by its header.
fn go_car_v2_payload() -> Vec<u8> {
    let v2 = hex(GO_CAR_V2_BASIC_HEX);
    // 11-byte pragma, then characteristics (16 bytes), data offset and data size (u64 LE).
    assert_eq!(&v2[..11], &hex("0a a1 67 76657273696f6e 02")[..]);
    let le = |b: &[u8]| b.iter().rev().fold(0u64, |v, &x| (v << 8) | u64::from(x)) as usize;
    let (offset, size) = (le(&v2[27..35]), le(&v2[35..43]));
    assert_eq!((offset, size), (51, 448));
    v2[offset..offset + size].to_vec()
}

#[test]
fn interop_go_car_dag_pb_payload_imports_and_reexports_byte_for_byte() {
    let car = go_car_v2_payload();
    let root: Cid = "QmfEoLyB5NndqeKieExd1rtJzTduQUPEV8TwAYcUiy3H5Z"
        .parse()
        .unwrap();
    // The header is exactly what we write for that root.
    assert_eq!(&car[..57], &encode_header(std::slice::from_ref(&root))[..]);

    // Sections at the offsets js-car's index gives (minus the 51-byte CAR v2 prelude).
    let (roots, blocks) = read_all(&car);
    assert_eq!(roots, vec![root.clone()]);
    let index: Vec<(String, u64)> = blocks
        .iter()
        .map(|b| (b.cid.to_string(), b.offset + 51))
        .collect();
    let expected = [
        ("QmfEoLyB5NndqeKieExd1rtJzTduQUPEV8TwAYcUiy3H5Z", 108),
        ("QmczfirA7VEH7YVvKPTPoU69XM3qY4DC39nnTsWd4K3SkM", 190),
        ("Qmcpz2FHJD7VAhg1fxFXdYJKePtkx1BsHuCrAgWVnaHMTE", 325),
        (
            "bafkreifuosuzujyf4i6psbneqtwg2fhplc2wxptc5euspa2gn3bwhnihfu",
            414,
        ),
        (
            "bafkreifc4hca3inognou377hfhvu2xfchn2ltzi7yu27jkaeujqqqdbjju",
            455,
        ),
    ];
    let expected: Vec<(String, u64)> = expected.iter().map(|(c, o)| (c.to_string(), *o)).collect();
    assert_eq!(index, expected);
    assert_eq!(blocks[3].data, b"fish");
    assert_eq!(blocks[4].data, b"lobster");

    let store = MemoryBlocks::new();
    let report = import(&mut car.as_slice(), &store).unwrap();
    assert_eq!((report.blocks, report.duplicates), (5, 0));
    assert_eq!(report.roots, vec![root.clone()]);
    // Our export of the same DAG is go-car's CAR, byte for byte.
    assert_eq!(export_bytes(&store, &[root]), car);
}

#[test]
fn interop_carv1_basic_header_parses_and_dag_cbor_is_reported() {
    let car = hex(GO_CAR_V1_BASIC_HEX);
    let roots: Vec<Cid> = [
        "bafyreihyrpefhacm6kkp4ql6j6udakdit7g3dmkzfriqfykhjw6cad5lrm",
        "bafyreidj5idub6mapiupjwjsyyxhyhedxycv4vihfsicm2vt46o7morwlm",
    ]
    .iter()
    .map(|s| s.parse().unwrap())
    .collect();
    assert_eq!(read_header(&mut car.as_slice()).unwrap(), roots);
    // Two-root header: byte for byte what we write (the first section is at byte 100).
    assert_eq!(&car[..100], &encode_header(&roots)[..]);

    let sink = MemoryBlocks::new();
    let err = import(&mut car.as_slice(), &sink).unwrap_err();
    match &err {
        CarError::Section {
            offset: 100,
            source: BlockError::UnknownCodec { cid, codec: 0x71 },
        } => assert_eq!(*cid, roots[0]),
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains(&roots[0].to_string()), "{err}");
    assert!(sink.is_empty());
}
