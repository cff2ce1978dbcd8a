//! Tests of CIDs: text forms, the strict binary parser, the conversions and the order.

use super::*;

#[test]
fn text_forms_round_trip() {
    for s in [
        "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn",
        "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354",
        "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e",
    ] {
        let cid: Cid = s.parse().unwrap();
        assert_eq!(cid.to_string(), s);
        assert_eq!(Cid::from_bytes(&cid.to_bytes()).unwrap(), cid);
    }
}

#[test]
fn other_multibases_parse_to_the_same_cid() {
    let cid: Cid = "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"
        .parse()
        .unwrap();
    let upper = format!("B{}", &cid.to_string()[1..].to_ascii_uppercase());
    let hex = format!("f{}", data_encoding::HEXLOWER.encode(&cid.to_bytes()));
    let b58 = format!("z{}", bs58::encode(cid.to_bytes()).into_string());
    for s in [upper, hex, b58] {
        assert_eq!(s.parse::<Cid>().unwrap(), cid, "{s}");
    }
}

#[test]
fn hello_world_raw_cid_and_verification() {
    let cid = Cid::v1_sha2_256(RAW, b"hello world");
    assert_eq!(
        cid.to_string(),
        "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"
    );
    assert_eq!(cid.verify(b"hello world"), Ok(true));
    assert_eq!(cid.verify(b"hello worle"), Ok(false));
    let odd = Cid::new_v1(RAW, Multihash::new(0x1b, vec![0; 32]));
    assert_eq!(odd.verify(b""), Err(UnsupportedHash(0x1b)));
}

#[test]
fn rejects_malformed_input() {
    for s in [
        "",
        "x123",
        "bafy",
        "Qm",
        "b!!!!",
        "zQmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn",
    ] {
        assert!(s.parse::<Cid>().is_err(), "{s:?} parsed");
    }
    assert!(Cid::from_bytes(&[0x01, 0x55, 0x12, 0x20, 0x00]).is_err());
    assert!(Cid::from_bytes(&[0x02, 0x55, 0x00, 0x00]).is_err());
}

#[test]
fn binary_parsing_names_the_broken_rule() {
    let good = Cid::v1_sha2_256(RAW, b"x").to_bytes();
    // An overlong (10-byte) codec varint, which the crates' readers would take.
    let mut long = vec![0x01];
    long.extend([0xd5, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]);
    long.extend(&good[2..]);
    assert_eq!(
        Cid::from_bytes(&long),
        Err(CidError::Varint {
            field: "codec",
            rule: varint::VarintError::TooLong { max: 9 }
        })
    );
    // A non-minimal codec (0x55 written in two bytes).
    let mut padded = vec![0x01, 0xd5, 0x00];
    padded.extend(&good[2..]);
    let err = Cid::from_bytes(&padded).unwrap_err();
    assert_eq!(
        err,
        CidError::Varint {
            field: "codec",
            rule: varint::VarintError::NotMinimal
        }
    );
    assert!(err.to_string().contains("codec"), "{err}");
    // An explicit version 0, a truncated digest, trailing bytes.
    let mut v0 = good.clone();
    v0[0] = 0x00;
    assert_eq!(Cid::from_bytes(&v0), Err(CidError::Version(0)));
    assert_eq!(
        Cid::from_bytes(&good[..good.len() - 1]),
        Err(CidError::Malformed("multihash digest is truncated"))
    );
    let mut trailing = good.clone();
    trailing.push(0);
    assert_eq!(
        Cid::from_bytes(&trailing),
        Err(CidError::Malformed("trailing bytes after the CID"))
    );
    // A digest longer than any hash function's.
    let mut huge = vec![0x01, 0x55, 0x00, 0x81, 0x01];
    huge.extend([0u8; 129]);
    assert_eq!(Cid::from_bytes(&huge), Err(CidError::DigestTooLong(129)));
    let mut inline = vec![0x01, 0x55, 0x00, 0x80, 0x01];
    inline.extend([7u8; 128]);
    let cid = Cid::from_bytes(&inline).unwrap();
    assert_eq!(cid.hash().digest(), &[7u8; 128][..]);
    assert_eq!(cid.to_bytes(), inline);
}

#[test]
fn text_parsing_knows_its_prefixes() {
    let s = "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e";
    // Base32 is read case-insensitively under either prefix (as before multibase).
    let mixed = "bAFKreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e";
    assert_eq!(mixed.parse::<Cid>(), s.parse::<Cid>());
    assert!(
        "b!afkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"
            .parse::<Cid>()
            .is_err()
    );
    assert_eq!("m".parse::<Cid>(), Err(CidError::Multibase('m')));
    let cid: Cid = s.parse().unwrap();
    let upper_hex = format!("F{}", data_encoding::HEXUPPER.encode(&cid.to_bytes()));
    assert_eq!(upper_hex.parse::<Cid>().unwrap(), cid);
}

#[test]
fn converts_to_and_from_the_ecosystem_cid() {
    for s in [
        "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn",
        "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e",
    ] {
        let ours: Cid = s.parse().unwrap();
        let theirs = cid::CidGeneric::<MAX_DIGEST>::from(&ours);
        assert_eq!(theirs.to_string(), s);
        assert_eq!(theirs.to_bytes(), ours.to_bytes());
        assert_eq!(ours.encoded_len(), ours.to_bytes().len());
        assert_eq!(Cid::from(theirs), ours);
    }
}

#[test]
fn a_cid_stays_small() {
    // Errors carry CIDs: an inline 128-byte digest would make every `Result` large.
    assert!(
        std::mem::size_of::<Cid>() <= 24,
        "{}",
        std::mem::size_of::<Cid>()
    );
}

#[test]
fn order_is_by_digest_bytes_not_length() {
    let short = Cid::new_v1(RAW, Multihash::new(IDENTITY, vec![2]));
    let long = Cid::new_v1(RAW, Multihash::new(IDENTITY, vec![1, 9]));
    assert!(long < short);
    assert!(Cid::v1_sha2_256(RAW, b"a").to_v1() > Cid::new_v0(Multihash::sha2_256(b"a")).unwrap());
}
