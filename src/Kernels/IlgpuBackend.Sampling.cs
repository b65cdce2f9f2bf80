using System.Diagnostics.CodeAnalysis;
using ILGPU;
using ILGPU.Runtime;

namespace GpuAe.Kernels;

/// <summary>The VAE's sampling launchers (<see cref="Sampling"/>): noise, reparameterisation, its backward pass, KL.</summary>
public sealed partial class IlgpuBackend
{
    Action<AcceleratorStream, Index1D, int, ArrayView<float>, ulong, ArrayView<int>, StepNumber> _normalNoise;
    Action<AcceleratorStream, Index1D, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, int> _reparameterize;
    Action<AcceleratorStream, Index1D, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float> _reparameterizeBackward;
    Action<AcceleratorStream, Index1D, int, ArrayView<float>, ArrayView<float>, int> _klRows;

    [MemberNotNull(nameof(_normalNoise), nameof(_reparameterize), nameof(_reparameterizeBackward), nameof(_klRows))]
    void LoadSampling()
    {
        Load(out _normalNoise, Sampling.NormalNoise);
        Load(out _reparameterize, Sampling.Reparameterize);
        Load(out _reparameterizeBackward, Sampling.ReparameterizeBackward);
        Load(out _klRows, Sampling.KlRows);
    }

    public void NormalNoise(Tensor noise, ulong seed, StepValue step)
    {
        int threads = Threads(noise.Length);
        _normalNoise(Stream, threads, threads, View(noise), seed, RecordView(step.Record), step.Argument);
        Launched?.Invoke($"normal noise {noise.Length}");
    }

    public void Reparameterize(Tensor enc, Tensor noise, Tensor z, int rows, int latent)
    {
        Shapes.Latent("reparameterise", enc, rows, latent, ("noise", noise, latent), ("z", z, latent));
        int threads = Threads(rows * latent);
        _reparameterize(Stream, threads, threads, View(enc), View(noise), View(z).SubView(0, rows * latent), latent);
        Launched?.Invoke($"reparameterise {rows}×{latent}");
    }

    public void ReparameterizeBackward(Tensor enc, Tensor noise, Tensor dz, Tensor denc, Tensor rowKl, int rows, int latent, float klWeightOverRows)
    {
        Shapes.Latent("reparameterise backward", enc, rows, latent, ("noise", noise, latent), ("dz", dz, latent), ("denc", denc, 2 * latent), ("rowKl", rowKl, 1));
        int threads = Threads(rows);
        _reparameterizeBackward(Stream, threads, threads, View(enc), View(noise), View(dz), View(denc), View(rowKl).SubView(0, rows), latent, klWeightOverRows);
        Launched?.Invoke($"reparameterise backward + KL {rows}×{latent}");
    }

    public void KlRows(Tensor enc, Tensor rowKl, int rows, int latent)
    {
        Shapes.Latent("KL rows", enc, rows, latent, ("rowKl", rowKl, 1));
        int threads = Threads(rows);
        _klRows(Stream, threads, threads, View(enc), View(rowKl).SubView(0, rows), latent);
        Launched?.Invoke($"KL rows {rows}×{latent}");
    }
}
