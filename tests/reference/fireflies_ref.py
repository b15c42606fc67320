"""An independent reference simulator of docs/model.md, in plain Python.

It shares no code with the engine (nothing of include/ or src/, not even the C++ reference of
tests/unit/reference_model.hpp, which reuses the engine's firefly_rules): written from the model
page alone, to be compared with the real program's output. It is slow (a global heap of single
events, each firefly's phase kept as a value and the time it was last brought up to date) and
meant for small grids.

What it implements, with the page's names:
  - the grid: a W x H torus (or with --boundary open a rectangle without wrapping), firefly
    id = y W + x; its neighbours every other cell within distance R (--radius, default 1):
    Chebyshev distance (moore, the default) or Manhattan distance (von-neumann), measured on
    the torus the short way round each axis (with open edges, plainly); with --coupling
    all-to-all every other firefly of the grid;
  - time and phases in integer nanosecond ticks (every option in seconds rounded to the nearest
    tick);
  - randomness: Philox4x32-10 keyed by the seed, counter (id, draw); draw 0 the start phase,
    draw k the reset phase after the k-th flash; uniform in [0, n): floor(bits n / 2^64);
  - a flash at t: pulses at t + d to every neighbour, the phase reset to U(0, j);
  - refractory while phase < Rf, and at the instant of its own flash; drop or queue;
  - events of one firefly at one time: the end of its refractory period (held pulses), then
    pulses, then its own flash;
  - each firefly's own period (--period-spread S): T without a spread; uniform: T - S +
    U(0, 2S + 1) ticks from draw 2^63; normal: Box-Muller on draws 2^63 + 2k, 2^63 + 2k + 1
    (u1 = (bits >> 11 + 1) 2^-53, u2 = (bits >> 11) 2^-53, z = sqrt(-2 ln u1) cos(2 pi u2)),
    round(T + S z) ticks, the first above nudge + jitter (k < 64; else T); its Rf = round(r T_i);
  - pacemakers (--pacemaker X,Y[,PERIOD]): the firefly at (X, Y) has period PERIOD (default
    T), starts at phase U(0, PERIOD) from draw 0 (or its --initial-phases value), flashes each
    time its phase reaches PERIOD, resets to phase 0 (no jitter, no draw) and ignores every
    pulse; its flashes send pulses as any other's;
  - the phase response of a pulse: + e (B = 0), or with dissipation B > 0 the Mirollo-Strogatz
    state function, phase' = min(T, max(0, round(a phase + c))), a = exp(B e/T),
    c = T expm1(B e/T) / expm1(B), rounding halves away from zero (docs/model.md, "Dissipation");
    an inhibitory nudge (e < 0) floors the phase at 0.

run(cfg, through) returns the flashes [(t, id)] sorted, and the samples: per sample time, each
firefly's phase and last flash.
"""
import heapq
import math

TICKS = 10 ** 9
M32 = 0xFFFFFFFF


def to_ticks(seconds):
    """Nearest tick (halves away from zero, as the model page's rounding)."""
    x = seconds * TICKS
    r = math.floor(abs(x) + 0.5)
    return int(r if x >= 0 else -r)


def philox4x32_10(counter, key):
    c0, c1, c2, c3 = counter
    k0, k1 = key
    for _ in range(10):
        p0 = 0xD2511F53 * c0
        p1 = 0xCD9E8D57 * c2
        c0, c1, c2, c3 = ((p1 >> 32) ^ c1 ^ k0) & M32, p1 & M32, ((p0 >> 32) ^ c3 ^ k1) & M32, p0 & M32
        k0 = (k0 + 0x9E3779B9) & M32
        k1 = (k1 + 0xBB67AE85) & M32
    return c0, c1, c2, c3


def random_bits(seed, agent, draw):
    r = philox4x32_10((agent & M32, agent >> 32, draw & M32, draw >> 32), (seed & M32, seed >> 32))
    return (r[0] << 32) | r[1]


def uniform_below(bits, n):
    return (bits * n) >> 64


def round_half_away(x):
    """std::llround for x >= 0 (x - floor(x) is exact for a double)."""
    r = math.floor(x)
    return r + 1 if x - r >= 0.5 else r


class Config:
    """The options the reference knows, in the program's units (seconds, cells)."""

    def __init__(self, **kw):
        self.width = 30
        self.height = 30
        self.period = 5.0
        self.nudge = 0.2
        self.refractory = 0.2
        self.mode = "drop"
        self.delay = 0.01
        self.jitter = 0.1
        self.seed = 1
        self.dissipation = 0.0
        self.period_spread = 0.0
        self.period_distribution = "normal"
        self.initial_phases = None   # start phases in ticks, row-major (else draw 0)
        self.boundary = "periodic"
        self.neighbourhood = "moore"
        self.radius = 1
        self.coupling = "lattice"
        self.pacemakers = []         # [(x, y, period in seconds or None)]
        self.duration = 300.0
        self.sample_every = 0.5
        for k, v in kw.items():
            if not hasattr(self, k):
                raise KeyError(k)
            setattr(self, k, v)

    def args(self):
        """The same run as command-line options of `fireflies`."""
        out = ["--width", self.width, "--height", self.height, "--period", repr(self.period),
               "--nudge", repr(self.nudge), "--refractory", repr(self.refractory),
               "--refractory-mode", self.mode, "--delay", repr(self.delay),
               "--jitter", repr(self.jitter), "--seed", self.seed,
               "--duration", repr(self.duration), "--sample-every", repr(self.sample_every)]
        if self.dissipation != 0:
            out += ["--prc-dissipation", repr(self.dissipation)]
        if self.boundary != "periodic":
            out += ["--boundary", self.boundary]
        if self.neighbourhood != "moore":
            out += ["--neighbourhood", self.neighbourhood]
        if self.radius != 1:
            out += ["--radius", self.radius]
        if self.coupling != "lattice":
            out += ["--coupling", self.coupling]
        for x, y, period in self.pacemakers:
            out += ["--pacemaker", "%d,%d" % (x, y) + ("" if period is None else ",%r" % period)]
        if self.period_spread != 0:
            out += ["--period-spread", repr(self.period_spread),
                    "--period-distribution", self.period_distribution]
        return [str(a) for a in out]


def neighbours(W, H, i, open_edges=False, kind="moore", radius=1):
    """The neighbours of cell i: every other cell within `radius`, by Chebyshev (moore) or
    Manhattan (von-neumann) distance; on the torus each axis's distance is the shorter way
    round, with open_edges the plain difference. Found by testing every cell of the grid."""
    x, y = i % W, i // W

    def apart(a, b, n):
        d = abs(a - b)
        return d if open_edges else min(d, n - d)

    out = []
    for j in range(W * H):
        if j == i:
            continue
        dx, dy = apart(j % W, x, W), apart(j // W, y, H)
        if (max(dx, dy) if kind == "moore" else dx + dy) <= radius:
            out.append(j)
    return out


PERIOD_STREAM = 1 << 63


def natural_period(cfg, i):
    """Firefly i's own (period, Rf) in ticks."""
    T = to_ticks(cfg.period)
    S = to_ticks(cfg.period_spread)
    if S <= 0:
        return T, to_ticks(cfg.refractory * cfg.period)
    floor = max(to_ticks(cfg.nudge), 0) + to_ticks(cfg.jitter)
    period = T
    if cfg.period_distribution == "uniform":
        period = T - S + uniform_below(random_bits(cfg.seed, i, PERIOD_STREAM), 2 * S + 1)
    else:
        for k in range(64):
            b1 = random_bits(cfg.seed, i, PERIOD_STREAM + 2 * k)
            b2 = random_bits(cfg.seed, i, PERIOD_STREAM + 2 * k + 1)
            u1 = float((b1 >> 11) + 1) * 2.0 ** -53
            u2 = float(b2 >> 11) * 2.0 ** -53
            z = math.sqrt(-2.0 * math.log(u1)) * math.cos(6.283185307179586 * u2)
            candidate = round_half_away_signed(float(T) + float(S) * z)
            if candidate > floor:
                period = candidate
                break
    rf = round_half_away_signed(cfg.refractory * float(period))
    return period, min(rf, period - 1)


def round_half_away_signed(x):
    return round_half_away(x) if x >= 0 else -round_half_away(-x)


# event kinds, in the order one firefly takes them at one time
REFRACTORY_END, PULSE, FLASH = 0, 1, 2


def run(cfg, through=None):
    """Runs cfg through simulated time `through` (ticks; default the duration). Start phases
    from cfg.initial_phases (ticks, row-major) when given, else draw 0 of each firefly."""
    T0 = to_ticks(cfg.period)
    e = to_ticks(cfg.nudge)
    J = to_ticks(cfg.jitter)
    d = to_ticks(cfg.delay)
    B = float(cfg.dissipation)
    duration = to_ticks(cfg.duration)
    sample = to_ticks(cfg.sample_every)
    if through is None:
        through = duration
    W, H = cfg.width, cfg.height
    N = W * H
    queue_mode = cfg.mode == "queue"

    own = [natural_period(cfg, i) for i in range(W * H)]
    pacemaker = [False] * (W * H)
    for x, y, period in cfg.pacemakers:
        i = y * W + x
        pacemaker[i] = True
        own[i] = (T0 if period is None else to_ticks(period), own[i][1])
    if B > 0:
        eps = e / T0
        a = math.exp(B * eps)
        cs = [float(Ti) * math.expm1(B * eps) / math.expm1(B) for Ti, _ in own]
    else:
        a, cs = 1.0, [float(e)] * (W * H)
    general = B > 0 or e < 0

    def respond(i, phase):
        T = own[i][0]
        if not general:
            return phase + e
        x = a * float(phase) + cs[i]
        if not x < T:
            return T
        if not x > 0:
            return 0
        return min(round_half_away(x), T)

    if cfg.coupling == "all-to-all":
        nbr = [[m for m in range(N) if m != i] for i in range(N)]
    else:
        nbr = [neighbours(W, H, i, cfg.boundary == "open", cfg.neighbourhood, cfg.radius) for i in range(N)]
    phase = [0] * N       # phase at time upd[i]
    upd = [0] * N
    last = [-1] * N
    draws = [0] * N
    held = [0] * N
    version = [0] * N     # a firefly's FLASH / REFRACTORY_END events of older versions are stale
    heap = []
    flashes = []

    def now_phase(i, t):
        return phase[i] + (t - upd[i])

    def set_phase(i, t, p):
        phase[i], upd[i] = p, t

    def refractory(i, t):
        return now_phase(i, t) < own[i][1] or t == last[i]

    def refractory_end(i):
        """When a refractory firefly stops being refractory (its phase reaches Rf, and at least
        the tick after its flash)."""
        end = upd[i] + (own[i][1] - phase[i])
        return max(end, last[i] + 1)

    def plan(i):
        version[i] += 1
        if queue_mode and held[i] > 0:
            heapq.heappush(heap, (refractory_end(i), REFRACTORY_END, i, version[i]))
        else:
            heapq.heappush(heap, (upd[i] + (own[i][0] - phase[i]), FLASH, i, version[i]))

    def flash(i, t):
        flashes.append((t, i))
        for m in nbr[i]:
            heapq.heappush(heap, (t + d, PULSE, m, 0))
        if pacemaker[i]:
            last[i] = t
            set_phase(i, t, 0)
            return
        j = uniform_below(random_bits(cfg.seed, i, draws[i]), J) if J > 0 else 0
        draws[i] += 1
        last[i] = t
        held[i] = 0
        set_phase(i, t, j)

    for i in range(N):
        if cfg.initial_phases is not None:
            set_phase(i, 0, cfg.initial_phases[i])
        else:
            set_phase(i, 0, uniform_below(random_bits(cfg.seed, i, 0), own[i][0]))
        draws[i] = 1
        plan(i)

    samples = []
    next_sample = 0

    def take_samples(upto):
        nonlocal next_sample
        while next_sample * sample <= min(upto, duration):
            ts = next_sample * sample
            samples.append((ts, [(now_phase(i, ts), own[i][0]) for i in range(N)], list(last)))
            next_sample += 1

    while heap and heap[0][0] <= through:
        t, kind, i, v = heapq.heappop(heap)
        take_samples(t - 1)
        if kind != PULSE and v != version[i]:
            continue
        if kind == FLASH:
            flash(i, t)
        elif kind == REFRACTORY_END:
            p = now_phase(i, t)
            k, n = 0, held[i]
            held[i] = 0
            while k < n and p < own[i][0]:
                p = respond(i, p)
                k += 1
            if p >= own[i][0]:
                flash(i, t)
            else:
                set_phase(i, t, p)
        elif pacemaker[i]:  # a pulse at a pacemaker: ignored
            continue
        else:  # PULSE
            if refractory(i, t):
                if queue_mode:
                    set_phase(i, t, now_phase(i, t))
                    held[i] += 1
            else:
                p = respond(i, now_phase(i, t))
                if p >= own[i][0]:
                    flash(i, t)
                else:
                    set_phase(i, t, p)
        plan(i)
    take_samples(through)
    flashes.sort()
    return flashes, samples


def order_parameters(samples, T_seconds):
    """R (on the run's period T) and R_state (each phase on its own period) of each sample, in
    floating point (the program sums fixed-point phasors)."""
    T = to_ticks(T_seconds)
    out = []
    for ts, phases, lasts in samples:
        n = len(phases)
        zr = zi = 0.0
        for l in lasts:
            if l >= 0:
                th = 2 * math.pi * ((ts - l) % T) / T
                zr += math.cos(th)
                zi += math.sin(th)
        sr = si = 0.0
        for p, Ti in phases:
            th = 2 * math.pi * p / Ti
            sr += math.cos(th)
            si += math.sin(th)
        out.append((ts, math.hypot(zr, zi) / n, math.hypot(sr, si) / n))
    return out


def time_to_sync(order, T_seconds, threshold=0.99):
    """The first sample time t_k0 (seconds) from which R_state stays at or above `threshold` for
    a whole period T: samples k0 .. k all at or above it with t_k - t_k0 >= T (in ticks); None
    when never (docs/output.md, "Synchrony"). `order` is order_parameters' list."""
    T = to_ticks(T_seconds)
    start = None
    for ts, _, Rs in order:
        if Rs < threshold:
            start = None
            continue
        if start is None:
            start = ts
        if ts - start >= T:
            return start / TICKS
    return None


def largest_volley(flashes, sample_times, window_seconds):
    """Per sample time t_k (ticks): the most flashes of the interval (t_{k-1}, t_k] whose times
    lie within one window w, max over its flashes i of #{j : t_i <= t_j < t_i + w}
    (docs/output.md, "Synchrony"). `flashes` sorted [(tick, id)]."""
    w = to_ticks(window_seconds)
    times = [t for t, _ in flashes]
    out = []
    lo = -1
    first = 0
    for ts in sample_times:
        while first < len(times) and times[first] <= lo:
            first += 1
        last = first
        while last < len(times) and times[last] <= ts:
            last += 1
        best = 0
        j = first
        for i in range(first, last):
            while j < last and times[j] < times[i] + w:
                j += 1
            best = max(best, j - i)
        out.append(best)
        lo = ts
    return out
