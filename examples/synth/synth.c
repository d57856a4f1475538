// A small synthesizer: three detuned oscillators (saw, square, sine) through an ADSR envelope
// and a resonant two-pole low-pass filter, with a note pattern. Only + - * / on floats and
// integer arithmetic, so the wasm build and a native build (-ffp-contract=off) compute the same
// bits. Built for wasm it exports `render(frames)`, which writes `frames` samples to the buffer
// at `synth_buffer()`; built natively (SYNTH_NATIVE) the same functions are `native_*`.

#ifdef SYNTH_NATIVE
#define EXPORT(name) native_##name
#else
#define EXPORT(name) __attribute__((export_name(#name))) name
#endif

#define RATE 48000.0f
#define MAX_FRAMES 1024

static float buffer[MAX_FRAMES];
static float phase[3];
static float env, lp1, lp2;
static unsigned frame_count, note_frames;
static int stage; // 0 attack, 1 decay, 2 sustain, 3 release
static float freq = 110.0f;

static const float notes[8] = {110.0f, 130.81f, 146.83f, 164.81f, 196.0f, 220.0f, 164.81f, 130.81f};

// sin(2 pi x) for x in [0, 1): a parabola pair, refined once.
static float sine(float x) {
    float t = x < 0.5f ? x : x - 1.0f; // [-0.5, 0.5)
    float y = 8.0f * t - 16.0f * t * (t < 0.0f ? -t : t);
    return 0.225f * (y * (y < 0.0f ? -y : y) - y) + y;
}

static float advance(int i, float f) {
    float p = phase[i] + f / RATE;
    if (p >= 1.0f) p -= 1.0f;
    phase[i] = p;
    return p;
}

static void next_note(void) {
    freq = notes[(frame_count / 12000u) % 8u];
    stage = 0;
}

float* EXPORT(synth_buffer)(void) { return buffer; }

void EXPORT(render)(int frames) {
    if (frames > MAX_FRAMES) frames = MAX_FRAMES;
    for (int n = 0; n < frames; n++) {
        if (note_frames == 0) next_note();
        note_frames = (note_frames + 1) % 12000u;
        if (note_frames == 9000u) stage = 3;
        switch (stage) {
        case 0: env += 1.0f / 480.0f; if (env >= 1.0f) { env = 1.0f; stage = 1; } break;
        case 1: env -= 0.5f / 4800.0f; if (env <= 0.5f) { env = 0.5f; stage = 2; } break;
        case 2: break;
        default: env -= env * (1.0f / 2400.0f); break;
        }
        float saw = 2.0f * advance(0, freq) - 1.0f;
        float square = advance(1, freq * 1.005f) < 0.5f ? 0.6f : -0.6f;
        float sin = sine(advance(2, freq * 0.5f));
        float x = (saw + square + sin) * (1.0f / 3.0f) * env;
        // A two-pole low-pass whose cutoff follows the envelope.
        float c = 0.05f + 0.25f * env;
        lp1 += c * (x - lp1 + 0.6f * (lp1 - lp2));
        lp2 += c * (lp1 - lp2);
        buffer[n] = lp2;
        frame_count++;
    }
}

void EXPORT(noop)(void) {}
