// The nemesis: a backend installed for real, then its live kernel or proxy state broken the way real
// bugs and neighbours break it, then the standard verify. Each break must be caught by one named
// check that fails with a detail naming the break, never by a crash and never silently.
//
// Breaks act on the live state only (rules, programs, maps, processes, sysctls, cgroups) through
// ordinary tools run in the lab's namespaces; the backends have no test-only switches.
// Each backend's breaks are a table in test/nemesis/<backend>.ts; docs/nemesis.md lists them all, and
// a unit test keeps that page and the tables the same.
import type { Placement } from '../../lab/judge/plan.ts';
import type { CapturedPair } from '../../lab/verify/setup.ts';

export interface Break {
  /** What is broken, in the words of the docs table, e.g. "ISTIO_OUTPUT's loopback RETURN deleted". */
  name: string;
  /** The placement the break is made in (same-node unless it only exists across nodes). */
  placement?: Placement;
  /** Breaks the live setup after install, before the verify. */
  apply(pair: CapturedPair): Promise<void>;
  /** The check that must fail, and what its detail must say so that a reader sees the break. */
  caughtBy: { check: string; detail: RegExp };
  /** Checks that may fail as well (a break often shows in more than one place); any other must pass. */
  alsoFailing?: readonly string[];
}

export interface Tolerated {
  /** A neighbour's change the backend must live with, e.g. a TC_ACT_PIPE filter ahead of its own. */
  name: string;
  placement?: Placement;
  apply(pair: CapturedPair): Promise<void>;
}

/** A backend's nemesis: the breaks that verify must catch, and the changes it must tolerate. */
export interface Nemesis {
  backend: string;
  breaks: readonly Break[];
  tolerated?: readonly Tolerated[];
}
