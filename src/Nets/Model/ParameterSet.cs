using GpuAe.Kernels;

namespace GpuAe.Nets.Model;

/// <summary>A named parameter: its slice of the model's single parameter buffer and its PyTorch shape.</summary>
public sealed record Parameter(string Name, int Offset, int[] Shape)
{
    public int Length => Shape.Aggregate(1, (a, b) => a * b);
}

/// <summary>
/// Every parameter of a model lives in one device allocation, and so do its gradients and Adam's two moments
/// (as llm.c does): Adam is one launch over the whole buffer and a checkpoint is one read. Layers hold views.
/// Each parameter starts on a multiple of <see cref="Alignment"/> floats (the gaps stay zero, and Adam leaves zeros
/// at zero), so the CPU accelerator's GEMM can read a weight's rows as whole 32-byte vectors.
/// </summary>
public sealed class ParameterSet
{
    readonly List<Parameter> _entries = [];
    readonly List<ILayer> _layers = [];

    public IReadOnlyList<Parameter> Entries => _entries;
    public const int Alignment = Vec8.Length;

    /// <summary>Floats in the buffer: every parameter plus the alignment gaps.</summary>
    public int Length { get; private set; }
    /// <summary>Number of parameters (no gaps).</summary>
    public int Count => _entries.Sum(e => e.Length);
    public Tensor Values { get; private set; }
    public Tensor Gradients { get; private set; }
    public Tensor FirstMoment { get; private set; }
    public Tensor SecondMoment { get; private set; }

    /// <summary>Declares a parameter; call before <see cref="Allocate"/>.</summary>
    public Parameter Declare(string name, params int[] shape)
    {
        var p = new Parameter(name, (Length + Alignment - 1) / Alignment * Alignment, shape);
        _entries.Add(p);
        Length = p.Offset + p.Length;
        return p;
    }

    /// <summary>Registers a layer whose parameters <see cref="Initialise"/> fills.</summary>
    public void Add(ILayer layer) => _layers.Add(layer);

    /// <summary>Draws every registered layer's initial weights from <paramref name="seed"/> and uploads them.</summary>
    public void Initialise(IBackend backend, ulong seed)
    {
        var host = new float[Length];
        foreach (var layer in _layers) layer.Initialise(host, seed);
        backend.Upload(Values, host);
    }

    public void Allocate(IBackend backend)
    {
        Values = backend.Allocate(Length);
        Gradients = backend.Allocate(Length);
        FirstMoment = backend.Allocate(Length);
        SecondMoment = backend.Allocate(Length);
    }

    public Tensor ValueOf(Parameter p) => Values.Slice(p.Offset, p.Length);
    public Tensor GradientOf(Parameter p) => Gradients.Slice(p.Offset, p.Length);
}
