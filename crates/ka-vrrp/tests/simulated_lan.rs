//! The VRRP engine on a simulated LAN with a virtual clock: elections, failover timing to the
//! microsecond, preemption, partitions, sync groups, and random schedules.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on unexpected data

mod lan;

use ka_units::{Centiseconds, Instant, Micros};
use ka_vrrp::timing;
use ka_vrrp::{InitialState, InstanceConfig, State, SyncGroupConfig, TrackWeight, TrackerId, TrackerState};
use ka_wire::vrrp::{pass_auth_data, AuthType, Family, Version};
use lan::{Lan, LINK};
use proptest::prelude::*;

fn seed_instance(priority: u8, state: InitialState) -> InstanceConfig {
    // The seed's VI_1: vrid 51, advert_int 1, PASS "keepsync", VIP mapped to 192.0.2.99.
    let mut c = InstanceConfig::new(
        "VI_1",
        51,
        LINK,
        Family::Ipv4,
        vec!["192.0.2.99".parse().unwrap()],
    );
    c.priority = priority;
    c.initial_state = state;
    c.auth_type = AuthType::Pass;
    c.auth_data = pass_auth_data(b"keepsync");
    c
}

fn v3_instance(priority: u8, centis: u16) -> InstanceConfig {
    let mut c = InstanceConfig::new("VI_3", 7, LINK, Family::Ipv4, vec!["192.0.2.77".parse().unwrap()]);
    c.version = Version::V3;
    c.priority = priority;
    c.advert_interval = Centiseconds::new(centis);
    c
}

fn seed_pair() -> Lan {
    let mut lan = Lan::new(1);
    lan.add_node(vec![seed_instance(101, InitialState::Master)], vec![]);
    lan.add_node(vec![seed_instance(100, InitialState::Backup)], vec![]);
    lan.start(0);
    lan.start(1);
    lan
}

const SECOND: Micros = Micros::from_secs(1);

#[test]
fn seed_pair_elects_the_master_at_master_down_and_keeps_one() {
    let mut lan = seed_pair();
    let t0 = lan.now;
    lan.run_for(Micros::from_secs(10));
    assert_eq!(lan.masters(0), vec![0]);
    assert!(lan.nodes[0].holds_vips[0] && !lan.nodes[1].holds_vips[0]);
    // `state MASTER` without priority 255 still waits Master_Down: 3 s + (256-101)/256 s.
    let expected = t0 + timing::master_down(Version::V2, 101, Centiseconds::ONE_SECOND, 3);
    assert_eq!(lan.entered(0, 0, State::Master), Some(expected));
    assert_eq!(expected - t0, Micros(3_605_468));
    assert_eq!(lan.state(1, 0), State::Backup);
    // keepalived's default GARP schedule: 5 at once, 5 more 5 s later.
    assert_eq!(lan.nodes[0].garps[0], 10);
    lan::check_trace("seed_pair_election", &lan.trace_jsonl());
}

#[test]
fn master_killed_backup_takes_over_exactly_at_master_down() {
    let mut lan = seed_pair();
    lan.run_for(Micros::from_secs(10));
    lan.kill(0);
    let last = lan.last_accepted(1, 0).unwrap();
    lan.run_for(Micros::from_secs(10));
    assert_eq!(lan.masters(0), vec![1]);
    let became = lan.entered(1, 0, State::Master).unwrap();
    assert_eq!(
        became - last,
        Micros(3_609_375),
        "Master_Down for priority 100 is 3.609375 s"
    );
    assert!(lan.nodes[1].holds_vips[0]);
    lan::check_trace("master_killed", &lan.trace_jsonl());
}

#[test]
fn priority_zero_on_shutdown_hands_over_after_skew() {
    let mut lan = seed_pair();
    lan.run_for(Micros::from_secs(10));
    let stop = lan.now;
    lan.shutdown(0);
    assert!(!lan.nodes[0].holds_vips[0], "SIGTERM removes the VIPs");
    lan.run_for(Micros::from_secs(3));
    let became = lan.entered(1, 0, State::Master).unwrap();
    // Delivered after the bus delay, then Skew_Time = 156/256 s.
    assert_eq!(became - stop, lan.delay + Micros(609_375));
    lan::check_trace("priority_zero_handover", &lan.trace_jsonl());
}

#[test]
fn returning_master_preempts_and_backup_releases() {
    let mut lan = seed_pair();
    lan.run_for(Micros::from_secs(10));
    lan.kill(0);
    lan.run_for(Micros::from_secs(10));
    assert_eq!(lan.masters(0), vec![1]);
    let restart = lan.now;
    lan.start(0);
    lan.run_for(Micros::from_secs(10));
    assert_eq!(lan.masters(0), vec![0]);
    assert!(!lan.nodes[1].holds_vips[0]);
    let took = lan.entered(0, 0, State::Master).unwrap() - restart;
    assert_eq!(
        took,
        timing::master_down(Version::V2, 101, Centiseconds::ONE_SECOND, 3)
    );
}

#[test]
fn vip_removed_behind_the_masters_back_is_reclaimed_before_the_peer_moves() {
    let mut lan = seed_pair();
    lan.run_for(Micros::from_secs(10));
    assert_eq!(lan.masters(0), vec![0]);
    let removed = lan.now;
    lan.remove_vip(0, 0);
    assert_eq!(lan.state(0, 0), State::Backup, "keepalived's set_vrrp_backup");
    lan.run_for(Micros::from_secs(10));
    // Both wait their skew time after the priority-0 advert; ours (priority 101) is
    // shorter than the peer's (100), so we are master again before the peer moves.
    let back = lan.entered(0, 0, State::Master).unwrap();
    assert_eq!(back - removed, Micros(605_468));
    assert_eq!(lan.entered(1, 0, State::Master), None, "the peer never took over");
    assert_eq!(lan.masters(0), vec![0]);
    assert!(lan.nodes[0].holds_vips[0] && !lan.nodes[1].holds_vips[0]);
    lan::check_trace("vip_removed_with_peer", &lan.trace_jsonl());
}

#[test]
fn vip_removed_on_a_lone_master_comes_back_after_skew() {
    let mut lan = Lan::new(3);
    lan.add_node(vec![seed_instance(101, InitialState::Master)], vec![]);
    lan.start(0);
    lan.run_for(Micros::from_secs(10));
    assert_eq!(lan.masters(0), vec![0]);
    let garps_before = lan.nodes[0].garps[0];
    let removed = lan.now;
    lan.remove_vip(0, 0);
    assert!(!lan.nodes[0].holds_vips[0]);
    lan.run_for(Micros::from_secs(2));
    let back = lan.entered(0, 0, State::Master).unwrap();
    // Skew_Time for priority 101: (256 - 101) / 256 s.
    assert_eq!(back - removed, Micros(605_468));
    assert!(lan.nodes[0].holds_vips[0], "reinstalled");
    assert!(lan.nodes[0].garps[0] > garps_before, "announced again");
}

#[test]
fn nopreempt_leaves_the_running_master_alone() {
    let mut lan = Lan::new(2);
    let mut high = seed_instance(150, InitialState::Backup);
    high.nopreempt = true;
    lan.add_node(vec![high], vec![]);
    lan.add_node(vec![seed_instance(100, InitialState::Backup)], vec![]);
    lan.start(1);
    lan.run_for(Micros::from_secs(10));
    assert_eq!(lan.masters(0), vec![1]);
    lan.start(0);
    lan.run_for(Micros::from_secs(30));
    assert_eq!(
        lan.masters(0),
        vec![1],
        "nopreempt: the higher priority stays backup"
    );
    lan.kill(1);
    lan.run_for(Micros::from_secs(10));
    assert_eq!(lan.masters(0), vec![0]);
}

#[test]
fn preempt_delay_holds_back_preemption() {
    let mut lan = Lan::new(3);
    let mut high = seed_instance(150, InitialState::Backup);
    high.preempt_delay = Micros::from_secs(20);
    lan.add_node(vec![high], vec![]);
    lan.add_node(vec![seed_instance(100, InitialState::Backup)], vec![]);
    lan.start(1);
    lan.run_for(Micros::from_secs(10));
    let start = lan.now;
    lan.start(0);
    lan.run_for(Micros::from_secs(15));
    assert_eq!(lan.masters(0), vec![1], "still inside preempt_delay");
    lan.run_for(Micros::from_secs(15));
    assert_eq!(lan.masters(0), vec![0]);
    let took = lan.entered(0, 0, State::Master).unwrap() - start;
    assert!(
        took >= Micros::from_secs(20) && took < Micros::from_secs(25),
        "{took}"
    );
}

#[test]
fn partition_gives_two_masters_and_healing_leaves_one_within_an_advert_interval() {
    let mut lan = seed_pair();
    lan.run_for(Micros::from_secs(10));
    lan.blocked.insert((0, 1));
    lan.blocked.insert((1, 0));
    lan.run_for(Micros::from_secs(10));
    assert_eq!(lan.masters(0), vec![0, 1], "a partition gives a dual master");
    let heal = lan.now;
    lan.blocked.clear();
    lan.run_for(SECOND + lan.delay);
    assert_eq!(lan.masters(0), vec![0], "healed within one advert interval");
    assert!(lan.entered(1, 0, State::Backup).unwrap() <= heal + SECOND + lan.delay);
    assert!(!lan.nodes[1].holds_vips[0]);
    lan.run_for(Micros::from_secs(10));
    assert_eq!(lan.masters(0), vec![0]);
    lan::check_trace("partition_heal", &lan.trace_jsonl());
}

#[test]
fn equal_priorities_elect_the_higher_address() {
    let mut lan = Lan::new(4);
    for _ in 0..3 {
        lan.add_node(vec![seed_instance(100, InitialState::Backup)], vec![]);
    }
    for n in 0..3 {
        lan.start(n);
    }
    lan.run_for(Micros::from_secs(20));
    assert_eq!(lan.masters(0), vec![2], "192.0.2.12 is the highest address");
}

#[test]
fn address_owner_takes_over_at_once() {
    let mut lan = Lan::new(5);
    lan.add_node(vec![seed_instance(100, InitialState::Backup)], vec![]);
    lan.add_node(vec![seed_instance(255, InitialState::Master)], vec![]);
    lan.start(0);
    lan.run_for(Micros::from_secs(10));
    let start = lan.now;
    lan.start(1);
    lan.run_for(Micros::from_secs(1));
    assert_eq!(lan.entered(1, 0, State::Master), Some(start + Micros(1)));
    assert_eq!(lan.masters(0), vec![1]);
}

#[test]
fn v3_ten_millisecond_adverts_fail_over_at_master_down() {
    let mut lan = Lan::new(6);
    lan.add_node(vec![v3_instance(254, 1)], vec![]);
    lan.add_node(vec![v3_instance(100, 1)], vec![]);
    lan.start(0);
    lan.start(1);
    lan.run_for(SECOND);
    assert_eq!(lan.masters(0), vec![0]);
    lan.kill(0);
    let last = lan.last_accepted(1, 0).unwrap();
    lan.run_for(SECOND);
    let became = lan.entered(1, 0, State::Master).unwrap();
    // 3 × 10 ms + 156 × 10 ms / 256 = 36.09375 ms, truncated to the microsecond.
    assert_eq!(became - last, Micros(36_093));
}

#[test]
fn v3_backup_adopts_the_master_interval() {
    let mut lan = Lan::new(7);
    lan.add_node(vec![v3_instance(200, 5)], vec![]);
    lan.add_node(vec![v3_instance(100, 100)], vec![]);
    lan.start(0);
    lan.start(1);
    lan.run_for(Micros::from_secs(5));
    assert_eq!(lan.masters(0), vec![0]);
    assert_eq!(
        lan.nodes[1].router.instance(0).unwrap().master_adver_int(),
        Centiseconds::new(5)
    );
    lan.kill(0);
    let last = lan.last_accepted(1, 0).unwrap();
    lan.run_for(SECOND);
    assert_eq!(
        lan.entered(1, 0, State::Master).unwrap() - last,
        timing::master_down(Version::V3, 100, Centiseconds::new(5), 3)
    );
}

#[test]
fn interface_down_means_fault_and_the_peer_takes_over() {
    let mut lan = seed_pair();
    lan.run_for(Micros::from_secs(10));
    lan.set_link(0, false);
    assert_eq!(lan.state(0, 0), State::Fault);
    assert!(!lan.nodes[0].holds_vips[0]);
    lan.run_for(Micros::from_secs(2));
    // FAULT sends priority 0, so the backup takes over after its skew.
    assert_eq!(lan.masters(0), vec![1]);
    lan.set_link(0, true);
    assert_eq!(lan.state(0, 0), State::Backup);
    lan.run_for(Micros::from_secs(10));
    assert_eq!(lan.masters(0), vec![0]);
}

#[test]
fn tracked_script_weight_lowers_priority_and_hands_over() {
    let mut lan = Lan::new(8);
    let mut a = seed_instance(101, InitialState::Master);
    a.track_flags.push((
        TrackerId(1),
        TrackWeight {
            weight: -10,
            reverse: false,
        },
    ));
    lan.add_node(vec![a], vec![]);
    lan.add_node(vec![seed_instance(100, InitialState::Backup)], vec![]);
    lan.nodes[0]
        .initial_trackers
        .push((TrackerId(1), TrackerState::Up));
    lan.start(0);
    lan.start(1);
    lan.run_for(Micros::from_secs(10));
    assert_eq!(lan.masters(0), vec![0]);
    lan.set_tracker(0, TrackerId(1), TrackerState::Down);
    assert_eq!(lan.nodes[0].router.instance(0).unwrap().effective_priority(), 91);
    lan.run_for(Micros::from_secs(10));
    assert_eq!(lan.masters(0), vec![1], "priority 91 < 100: the peer preempts");
    lan.set_tracker(0, TrackerId(1), TrackerState::Up);
    lan.run_for(Micros::from_secs(10));
    assert_eq!(lan.masters(0), vec![0]);
}

fn group_node(priority: u8) -> (Vec<InstanceConfig>, Vec<SyncGroupConfig>) {
    let mut a = InstanceConfig::new(
        "VI_A",
        1,
        LINK,
        Family::Ipv4,
        vec!["192.0.2.101".parse().unwrap()],
    );
    let mut b = InstanceConfig::new(
        "VI_B",
        2,
        LINK,
        Family::Ipv4,
        vec!["198.51.100.1".parse().unwrap()],
    );
    a.priority = priority;
    b.priority = priority;
    a.track_flags.push((
        TrackerId(9),
        TrackWeight {
            weight: 0,
            reverse: false,
        },
    ));
    (
        vec![a, b],
        vec![SyncGroupConfig {
            name: "G".into(),
            members: vec![0, 1],
        }],
    )
}

#[test]
fn sync_group_members_move_together() {
    let mut lan = Lan::new(9);
    let (i, g) = group_node(150);
    lan.add_node(i, g);
    let (i, g) = group_node(100);
    lan.add_node(i, g);
    for n in 0..2 {
        lan.nodes[n]
            .initial_trackers
            .push((TrackerId(9), TrackerState::Up));
        lan.start(n);
    }
    lan.run_for(Micros::from_secs(10));
    assert_eq!((lan.masters(0), lan.masters(1)), (vec![0], vec![0]));
    // One member's tracker fails: the whole group leaves.
    lan.set_tracker(0, TrackerId(9), TrackerState::Down);
    assert_eq!((lan.state(0, 0), lan.state(0, 1)), (State::Fault, State::Fault));
    assert_eq!(lan.nodes[0].router.group_state(0), Some(State::Fault));
    lan.run_for(Micros::from_secs(5));
    assert_eq!((lan.masters(0), lan.masters(1)), (vec![1], vec![1]));
    lan.set_tracker(0, TrackerId(9), TrackerState::Up);
    lan.run_for(Micros::from_secs(10));
    assert_eq!((lan.masters(0), lan.masters(1)), (vec![0], vec![0]));
    assert!(lan.nodes[0].holds_vips.iter().all(|h| *h) && lan.nodes[1].holds_vips.iter().all(|h| !*h));
    lan::check_trace("sync_group", &lan.trace_jsonl());
}

#[test]
fn wrong_password_is_dropped_and_counted() {
    let mut lan = Lan::new(10);
    lan.add_node(vec![seed_instance(101, InitialState::Master)], vec![]);
    let mut other = seed_instance(100, InitialState::Backup);
    other.auth_data = pass_auth_data(b"otherpwd");
    lan.add_node(vec![other], vec![]);
    lan.start(0);
    lan.start(1);
    lan.run_for(Micros::from_secs(10));
    // They cannot authenticate each other: both masters, every advert dropped.
    assert_eq!(lan.masters(0), vec![0, 1]);
    let stats = lan.nodes[1].router.instance(0).unwrap().stats();
    assert!(stats.drops(ka_wire::rx::DropReason::AuthFailure) >= 5);
    assert_eq!(stats.advert_rcvd, 0);
}

#[test]
fn lossy_duplicating_bus_still_converges() {
    let mut lan = Lan::new(11);
    lan.loss_per_mille = 50;
    lan.duplicate_per_mille = 100;
    for p in [100, 150, 120] {
        lan.add_node(vec![seed_instance(p, InitialState::Backup)], vec![]);
    }
    for n in 0..3 {
        lan.start(n);
    }
    lan.run_for(Micros::from_secs(60));
    assert_eq!(lan.masters(0), vec![1]);
}

#[derive(Clone, Debug)]
enum Step {
    Kill(usize),
    Shutdown(usize),
    Start(usize),
    Wait(u64),
}

fn steps(nodes: usize) -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(
        prop_oneof![
            (0..nodes).prop_map(Step::Kill),
            (0..nodes).prop_map(Step::Shutdown),
            (0..nodes).prop_map(Step::Start),
            (0u64..6_000_000).prop_map(Step::Wait),
        ],
        0..12,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, .. ProptestConfig::default() })]

    /// After any schedule of kills, shutdowns and restarts on a lossless bus, once things
    /// settle there is exactly one master among live nodes.
    #[test]
    fn never_two_masters_after_convergence(
        priorities in prop::collection::vec(1u8..=254, 2..5),
        v3 in any::<bool>(),
        schedule in (2usize..5).prop_flat_map(steps),
        delay in 1u64..2000,
    ) {
        let mut lan = Lan::new(12);
        lan.delay = Micros(delay);
        for p in &priorities {
            let c = if v3 { v3_instance(*p, 10) } else { seed_instance(*p, InitialState::Backup) };
            lan.add_node(vec![c], vec![]);
        }
        for n in 0..priorities.len() {
            lan.start(n);
        }
        for step in schedule {
            match step {
                Step::Kill(n) if n < priorities.len() => lan.kill(n),
                Step::Shutdown(n) if n < priorities.len() && lan.nodes[n].alive => lan.shutdown(n),
                Step::Start(n) if n < priorities.len() && !lan.nodes[n].alive => lan.start(n),
                Step::Wait(us) => lan.run_for(Micros(us)),
                _ => {}
            }
        }
        lan.run_for(Micros::from_secs(12));
        let alive = lan.nodes.iter().filter(|n| n.alive).count();
        let masters = lan.masters(0);
        prop_assert_eq!(masters.len(), usize::from(alive > 0), "masters {:?}", masters);
        if let Some(&m) = masters.first() {
            // The master has the highest live priority. Among equals the running master
            // stays: a backup accepts adverts of equal priority (RFC 5798 §6.4.2), and the
            // address breaks the tie only between two masters.
            let best = (0..priorities.len()).filter(|&n| lan.nodes[n].alive).map(|n| priorities[n]).max().unwrap();
            prop_assert_eq!(priorities[m], best);
            prop_assert!(lan.nodes[m].holds_vips[0]);
        }
        let holders = (0..priorities.len()).filter(|&n| lan.nodes[n].alive && lan.nodes[n].holds_vips[0]).count();
        prop_assert_eq!(holders, usize::from(alive > 0));
        let _ = Instant::EPOCH;
    }
}

#[test]
fn reload_keeps_a_running_master_without_any_transition() {
    let mut lan = seed_pair();
    lan.run_for(Micros::from_secs(10));
    let before = lan.nodes[0].transitions[0].len();
    let sent = lan.adverts_sent;
    lan.reload(
        0,
        vec![seed_instance(101, InitialState::Master)],
        vec![],
        vec![Some(0)],
    );
    lan.run_for(Micros::from_secs(10));
    assert_eq!(lan.masters(0), vec![0]);
    assert_eq!(
        lan.nodes[0].transitions[0].len(),
        before,
        "no state change on reload"
    );
    assert!(lan.nodes[0].holds_vips[0]);
    // Adverts kept their one-second rhythm: about 10 more from the master.
    assert!(
        (9..=11).contains(&(lan.adverts_sent - sent)),
        "{}",
        lan.adverts_sent - sent
    );
}

#[test]
fn reload_removing_the_master_instance_hands_over_after_skew() {
    let mut lan = seed_pair();
    lan.run_for(Micros::from_secs(10));
    let at = lan.now;
    let mut other = seed_instance(101, InitialState::Master);
    other.vrid = 60;
    lan.reload(0, vec![other], vec![], vec![None]);
    assert!(
        !lan.nodes[0].holds_vips[0],
        "the removed instance dropped its VIP"
    );
    lan.run_for(Micros::from_secs(5));
    assert_eq!(
        lan.entered(1, 0, State::Master).unwrap() - at,
        lan.delay + Micros(609_375)
    );
}

#[test]
fn reload_lowering_priority_lets_the_peer_preempt() {
    let mut lan = seed_pair();
    lan.run_for(Micros::from_secs(10));
    lan.reload(
        0,
        vec![seed_instance(50, InitialState::Backup)],
        vec![],
        vec![Some(0)],
    );
    lan.run_for(Micros::from_secs(10));
    assert_eq!(lan.masters(0), vec![1]);
    assert!(!lan.nodes[0].holds_vips[0] && lan.nodes[1].holds_vips[0]);
}
