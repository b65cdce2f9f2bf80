using GpuAe.Kernels;

namespace GpuAe.Nets;

/// <summary>A named parameter: its slice of the model's single parameter buffer and its PyTorch shape.</summary>
public sealed record Parameter(string Name, int Offset, int[] Shape)
{
    public int Length => Shape.Aggregate(1, (a, b) => a * b);
}

/// <summary>
/// Every parameter of a model lives in one device allocation, and so do its gradients and Adam's two moments
/// (as llm.c does): Adam is one launch over the whole buffer and a checkpoint is one read. Layers hold views.
/// </summary>
public sealed class ParameterSet
{
    readonly List<Parameter> _entries = [];
    readonly List<ILayer> _layers = [];

    public IReadOnlyList<Parameter> Entries => _entries;
    public int Count { get; private set; }
    public Tensor Values { get; private set; }
    public Tensor Gradients { get; private set; }
    public Tensor FirstMoment { get; private set; }
    public Tensor SecondMoment { get; private set; }

    /// <summary>Declares a parameter; call before <see cref="Allocate"/>.</summary>
    public Parameter Declare(string name, params int[] shape)
    {
        var p = new Parameter(name, Count, shape);
        _entries.Add(p);
        Count += p.Length;
        return p;
    }

    /// <summary>Registers a layer whose parameters <see cref="Initialise"/> fills.</summary>
    public void Add(ILayer layer) => _layers.Add(layer);

    /// <summary>Draws every registered layer's initial weights from <paramref name="seed"/> and uploads them.</summary>
    public void Initialise(IBackend backend, ulong seed)
    {
        var host = new float[Count];
        foreach (var layer in _layers) layer.Initialise(host, seed);
        backend.Upload(Values, host);
    }

    public void Allocate(IBackend backend)
    {
        Values = backend.Allocate(Count);
        Gradients = backend.Allocate(Count);
        FirstMoment = backend.Allocate(Count);
        SecondMoment = backend.Allocate(Count);
    }

    public Tensor ValueOf(Parameter p) => Values.Slice(p.Offset, p.Length);
    public Tensor GradientOf(Parameter p) => Gradients.Slice(p.Offset, p.Length);
}
