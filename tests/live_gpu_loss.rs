//! A lost GPU device, through the real binary on lavapipe: a debug switch destroys the device
//! mid-show, wgpu's device-lost callback fires, the window's GPU side (adapter, device,
//! surface, pipelines, textures) is built anew, the picture moves again within 2 s, and the
//! sound, on its own thread, never stops.

mod common;

use std::time::{Duration, Instant};

use common::*;

#[test]
fn a_lost_gpu_device_is_rebuilt_and_the_picture_moves_again_while_the_sound_plays_on() {
    if !live_env() {
        return;
    }
    let _turn = live_turn();
    // The silence check is run again only when the sound server itself demonstrably hiccuped
    // during the run (somnia logs it): that is not the GPU's rebuild, which this measures.
    retry_on_dropout(one_loss, |(gaps, log)| {
        if gaps.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{} silent 10 ms windows around the device loss, at {gaps:?} (x10 ms)\n{log}",
                gaps.len()
            ))
        }
    });
}

/// One show with one device loss: the picture checked; the silent 10 ms windows from a second
/// before the loss to two seconds after, and the log, returned.
fn one_loss() -> ((Vec<usize>, String), Environment) {
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("rec.wav");
    let mut parec = start_recording(&rec);
    let rec_start = Instant::now();
    // A held A3 for the whole show, over the moving `warm` picture.
    let play = LivePlay::start_with_env(
        dir.path(),
        &["--size", "320x180", "--no-osc", "--no-midi"],
        &fixture("performances/flood.toml"),
        &[("SOMNIA_DEBUG_LOSE_GPU_AT_S", "4")],
    );
    play.wait_until_up();
    assert!(
        play.wait_for_log("the graphics device was lost", Duration::from_secs(20)),
        "the device was never lost:\n{}",
        play.log_text()
    );
    let lost = Instant::now();
    let lost_s = rec_start.elapsed().as_secs_f64();
    // The picture moves again within 2 s: two shots in a row differ, and are lit.
    let shot = |name: &str| {
        let img = window_shot(&dir.path().join(name));
        thumbnail(&img.rgb, img.width, img.height, 16, 9)
    };
    let mut moving = false;
    let mut last = shot("a.png");
    while lost.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(150));
        let next = shot("b.png");
        let lit = next.iter().map(|p| p[0]).sum::<f64>() / next.len() as f64 > 20.0;
        if lit && thumb_distance(&last, &next) > 0.5 {
            moving = true;
            break;
        }
        last = next;
    }
    assert!(
        moving,
        "the picture did not move again within 2 s:\n{}",
        play.log_text()
    );
    // Sound for the two seconds after the loss, and a little more.
    if let Some(rest) = Duration::from_secs(3).checked_sub(lost.elapsed()) {
        std::thread::sleep(rest);
    }
    let log = play.stop();
    std::thread::sleep(Duration::from_millis(200));
    stop_with_sigint(&mut parec);
    assert!(log.contains("the picture is back"), "{log}");
    assert_eq!(
        log.matches("the graphics device was lost").count(),
        1,
        "one loss, one rebuild:\n{log}"
    );

    // The drone sounds through it all: every 10 ms from a second before the loss to two
    // seconds after is loud.
    let mono = read_wav(&rec).mono();
    let windows: Vec<f32> = mono.chunks(480).map(rms).collect();
    let (from, to) = (
        ((lost_s - 1.0) * 100.0) as usize,
        ((lost_s + 2.0) * 100.0) as usize,
    );
    assert!(to <= windows.len(), "the recording is too short");
    let gaps: Vec<usize> = (from..to).filter(|i| windows[*i] < 0.003).collect();
    let env = Environment {
        device_hiccups: device_hiccups(&log),
        ..Environment::default()
    };
    ((gaps, log), env)
}
