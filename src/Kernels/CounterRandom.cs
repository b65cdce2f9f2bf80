namespace GpuAe.Kernels;

/// <summary>
/// A counter-based random generator: every number is a pure function of (seed, stream, index), so any element can be
/// drawn independently on any device and reruns are bit-identical. Used on the host (initialisation, shuffling) and
/// inside kernels (the VAE's noise). The mixer is SplitMix64's finaliser, which passes BigCrush on a counter.
/// </summary>
public static class CounterRandom
{
    public static ulong Hash(ulong seed, ulong stream, ulong index)
    {
        ulong z = seed * 0x9E3779B97F4A7C15UL + stream * 0xD1B54A32D192ED03UL + index * 0xAEF17502108EF2D9UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in the open interval (0, 1): 24 random bits, offset by half a step so it is never 0 or 1.</summary>
    public static float Uniform(ulong seed, ulong stream, ulong index) =>
        ((Hash(seed, stream, index) >> 40) + 0.5f) * (1f / 16777216f);

    /// <summary>An integer in [0, bound) by Lemire's multiply-shift (bias below 2⁻³² for our bounds).</summary>
    public static int Below(ulong seed, ulong stream, ulong index, int bound) =>
        (int)(((Hash(seed, stream, index) >> 32) * (ulong)bound) >> 32);
}
