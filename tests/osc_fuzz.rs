//! Fuzzing the OSC input: a million packets, random and mutated from valid ones (messages and
//! nested bundles with time tags, every argument type), through the same decode-and-map path
//! the server uses. Nothing may panic; whatever is not valid is simply refused. The decoder is
//! called here without the server's guard (which would turn a panic into "malformed"), so a
//! panic in it fails the test; and the valid packets are checked to decode to what they say.

use proptest::prelude::*;
use rosc::{OscBundle, OscMessage, OscPacket, OscTime, OscType};
use somnia::bridge::EventKind;
use somnia::control::intent::Intent;
use somnia::control::osc::{Action, actions, decode};

/// Valid packets to mutate: each address the server knows, with arguments of every type.
fn seeds() -> Vec<Vec<u8>> {
    let args = vec![
        OscType::Int(69),
        OscType::Float(0.5),
        OscType::Double(1e300),
        OscType::Long(-1),
        OscType::String("../../etc/passwd".into()),
        OscType::Blob(vec![0; 9]),
        OscType::Bool(true),
        OscType::Nil,
        OscType::Inf,
        OscType::Time(OscTime {
            seconds: 0,
            fractional: 1,
        }),
    ];
    let addrs = [
        "/somnia/go",
        "/somnia/status",
        "/somnia/note",
        "/somnia/note/off",
        "/somnia/param/cutoff_hz",
        "/somnia/transport/seek",
        "/somnia/transport/cue",
        "/somnia/sustain",
    ];
    let mut out = Vec::new();
    for (i, addr) in addrs.iter().enumerate() {
        let msg = OscPacket::Message(OscMessage {
            addr: (*addr).into(),
            args: args[i % args.len()..].to_vec(),
        });
        out.push(rosc::encoder::encode(&msg).unwrap());
        let bundle = OscPacket::Bundle(OscBundle {
            timetag: OscTime {
                seconds: 2_208_988_800 + i as u32,
                fractional: 0,
            },
            content: vec![
                msg.clone(),
                OscPacket::Bundle(OscBundle {
                    timetag: OscTime {
                        seconds: 0,
                        fractional: 1,
                    },
                    content: vec![msg],
                }),
            ],
        });
        out.push(rosc::encoder::encode(&bundle).unwrap());
    }
    out
}

/// Decodes and maps, as the server does, but with the decoder unguarded: it must return, and
/// the server's guarded `decode` must agree with it.
fn feed(bytes: &[u8]) {
    let direct = rosc::decoder::decode_udp(bytes).ok().map(|(_, p)| p);
    // Compared as text: a NaN argument is not equal to itself.
    assert_eq!(format!("{:?}", decode(bytes)), format!("{direct:?}"));
    if let Some(p) = direct {
        let _ = actions(&p);
    }
}

#[test]
fn every_seed_packet_decodes_to_the_actions_it_names() {
    for s in seeds() {
        let p = decode(&s).expect("a valid packet decodes");
        // One answer per message: a message is one, each seed bundle holds two.
        let messages = match &p {
            OscPacket::Message(_) => 1,
            OscPacket::Bundle(_) => 2,
        };
        assert_eq!(actions(&p).len(), messages, "{p:?}");
    }
    let note = rosc::encoder::encode(&OscPacket::Message(OscMessage {
        addr: "/somnia/note".into(),
        args: vec![OscType::Int(69), OscType::Float(0.5)],
    }))
    .unwrap();
    let acts = actions(&decode(&note).unwrap());
    assert!(
        matches!(
            acts.as_slice(),
            [Ok(Action::Steer(Intent::Engine {
                kind: EventKind::NoteOn { note: 69, velocity },
                at: None,
            }))] if (*velocity - 0.5).abs() < 1e-6
        ),
        "{acts:?}"
    );
}

/// SplitMix64: cheap, seeded variety inside each proptest case.
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const CASES: u32 = 20_000;
const PER_CASE: usize = 50; // 20 000 x 50 = a million packets

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn a_million_random_and_mutated_packets_never_panic(seed in any::<u64>(), random in proptest::collection::vec(any::<u8>(), 0..600)) {
        let seeds = seeds();
        feed(&random);
        let mut s = seed;
        for _ in 1..PER_CASE {
            let mut p = seeds[(next(&mut s) % seeds.len() as u64) as usize].clone();
            match next(&mut s) % 4 {
                // Flip a few bytes.
                0 => for _ in 0..=(next(&mut s) % 4) {
                    let i = (next(&mut s) % p.len() as u64) as usize;
                    p[i] ^= next(&mut s) as u8 | 1;
                },
                // Cut it short.
                1 => p.truncate((next(&mut s) % p.len() as u64) as usize),
                // Lengths and counts at their extremes.
                2 => {
                    let i = (next(&mut s) % p.len() as u64) as usize & !3;
                    for (k, b) in [0xFFu8, 0xFF, 0xFF, 0xF0].iter().enumerate() {
                        if let Some(x) = p.get_mut(i + k) { *x = *b; }
                    }
                }
                // Grow it with noise.
                _ => for _ in 0..(next(&mut s) % 64) { p.push(next(&mut s) as u8); },
            }
            feed(&p);
        }
    }
}
