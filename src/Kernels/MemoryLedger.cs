namespace GpuAe.Kernels;

/// <summary>
/// A backend's account of the memory its tensors hold: bytes now and the most ever held, and scopes that free what
/// was allocated inside them when they end (a model, a trainer's copy of the data set, an evaluation's buffers), so
/// that a long job such as the report holds only what it still uses. Internal buffers that outlive any caller (GEMM
/// scratch) are counted but never freed by a scope.
/// </summary>
public sealed class MemoryLedger(Action<object> free)
{
    readonly List<(object Storage, long Bytes)> _live = [];

    public long Bytes { get; private set; }
    public long PeakBytes { get; private set; }

    public void Add(object storage, long bytes)
    {
        _live.Add((storage, bytes));
        Count(bytes);
    }

    public void AddPersistent(long bytes) => Count(bytes);

    void Count(long bytes)
    {
        Bytes += bytes;
        PeakBytes = Math.Max(PeakBytes, Bytes);
    }

    /// <summary>Frees, when disposed, every tensor allocated after this call. Scopes nest; disposing one twice is harmless.</summary>
    public IDisposable Scope() => new Handle(this, _live.Count);

    /// <summary>Frees every tensor (the backend's own Dispose).</summary>
    public void ReleaseAll() => Release(0);

    void Release(int mark)
    {
        for (int i = _live.Count - 1; i >= mark; i--)
        {
            free(_live[i].Storage);
            Bytes -= _live[i].Bytes;
        }
        if (mark < _live.Count) _live.RemoveRange(mark, _live.Count - mark);
    }

    sealed class Handle(MemoryLedger ledger, int mark) : IDisposable
    {
        bool _released;
        public void Dispose()
        {
            if (_released) return;
            _released = true;
            ledger.Release(mark);
        }
    }
}
