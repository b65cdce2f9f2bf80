using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using GpuAe.Kernels;
using GpuAe.Nets.Checkpoints;
using GpuAe.Nets.Model;
using GpuAe.Nets.Training;
using Xunit;

namespace GpuAe.Tests.Nets;

/// <summary>
/// The checkpoint reader under attack: a real checkpoint mutated every way a disk, a transfer or a hand edit can damage
/// it — cut at every length, every bit of its header flipped, bits of its data flipped, its JSON edited field by field
/// (with its content hash and without) — must load to exactly the numbers and metadata that were saved, or be refused
/// with a <see cref="UserError"/> of one line. Anything else (another exception, other numbers) fails, naming the mutant.
/// The same for the metadata the program builds a model from (<see cref="Models.Load(IBackend, string, int, bool)"/>) and
/// resumes a run from (<see cref="TrainingSession.Resume"/>), and for metrics.csv.
/// </summary>
public class CheckpointFuzzTests : TempFolderTest
{
    static readonly IBackend Backend = TestBackends.Get("simd512");

    static VariationalAutoencoder SmallVae() => new(Backend, 4, latent: 3, features: 12, hidden: 5);

    /// <summary>A small VAE's checkpoint (weights, both Adam moments, metadata as a run writes it) and the numbers it
    /// loads to (the parameters' padding between tensors is not saved, so these are read back, not the model's).</summary>
    (byte[] Bytes, float[] Values, float[] M, float[] V, Dictionary<string, string> Metadata) Original()
    {
        var be = Backend;
        var model = SmallVae();
        model.Initialise(8);
        be.Upload(model.Parameters.FirstMoment, Values.Random(model.Parameters.Length, 81));
        be.Upload(model.Parameters.SecondMoment, Values.Uniform01(model.Parameters.Length, 82));
        string path = Path.Combine(Folder, "original.safetensors");
        Checkpoint.Save(path, be, model, new Dictionary<string, string> { ["epoch"] = "3", ["seed"] = "42", ["note"] = "ünïcode ✓" });
        var loaded = SmallVae();
        Checkpoint.Load(path, be, loaded, withMoments: true);
        Assert.Equal(be.Down(model.Parameters.Values), be.Down(loaded.Parameters.Values));
        return (File.ReadAllBytes(path), be.Down(loaded.Parameters.Values), be.Down(loaded.Parameters.FirstMoment),
            be.Down(loaded.Parameters.SecondMoment), SafeTensors.Read(path).Metadata);
    }

    /// <summary>Loads each mutant; returns the mutants that neither loaded to the original nor were refused cleanly,
    /// and how many were refused. <paramref name="unverified"/>: mutants without the content hash, which may load other
    /// numbers (nothing tells them from a file written so) but must still load or be refused cleanly.</summary>
    (List<string> Failures, int Refused) Attack(IEnumerable<(string Name, byte[] Bytes)> mutants, bool requireRefusal = false, bool unverified = false)
    {
        var (_, values, m, v, metadata) = Original();
        var be = Backend;
        var model = SmallVae();
        string path = Path.Combine(Folder, "mutant.safetensors");
        var failures = new List<string>();
        int refused = 0;
        foreach (var (name, bytes) in mutants)
        {
            File.WriteAllBytes(path, bytes);
            try
            {
                var loaded = Checkpoint.Load(SafeTensors.Read(path), path, be, model, withMoments: true);
                if (requireRefusal) failures.Add($"{name}: loaded, should have been refused");
                else if (unverified) { }
                else if (!be.Down(model.Parameters.Values).SequenceEqual(values) || !be.Down(model.Parameters.FirstMoment).SequenceEqual(m)
                         || !be.Down(model.Parameters.SecondMoment).SequenceEqual(v))
                    failures.Add($"{name}: loaded other numbers (values {Differences(be.Down(model.Parameters.Values), values)}, " +
                                 $"m {Differences(be.Down(model.Parameters.FirstMoment), m)}, v {Differences(be.Down(model.Parameters.SecondMoment), v)} differ)");
                else if (metadata.Any(kv => kv.Key != SafeTensors.ContentHashKey && (!loaded.TryGetValue(kv.Key, out var value) || value != kv.Value))
                         || (loaded.Count != metadata.Count && loaded.ContainsKey(SafeTensors.ContentHashKey)))
                    failures.Add($"{name}: loaded other metadata"); // a flip in the hash's own key name leaves it unverified, with one odd key
            }
            catch (UserError e)
            {
                refused++;
                if (e.Message.Length == 0 || e.Message.Contains('\n')) failures.Add($"{name}: refused without one line: '{e.Message}'");
            }
            catch (Exception e)
            {
                failures.Add($"{name}: {e.GetType().Name}: {e.Message.Split('\n')[0]}");
            }
        }
        return (failures, refused);
    }

    static int Differences(float[] a, float[] b) => a.Zip(b).Count(p => p.First != p.Second);

    static void AssertNone(List<string> failures) =>
        Assert.True(failures.Count == 0, $"{failures.Count} mutants failed, e.g.:\n{string.Join("\n", failures.Take(12))}");

    [Fact]
    public void EveryTruncationIsRefused()
    {
        var bytes = Original().Bytes;
        var (failures, refused) = Attack(Enumerable.Range(0, bytes.Length).Select(n => ($"cut to {n} bytes", bytes[..n])), requireRefusal: true);
        AssertNone(failures);
        Assert.Equal(bytes.Length, refused);
        Assert.True(bytes.Length > 2000, $"{bytes.Length} bytes"); // the attack covers a real header and data
    }

    [Fact]
    public void BitsOfEveryHeaderByteAndOfTheDataFlipped()
    {
        var bytes = Original().Bytes;
        long headerEnd = 8 + (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        IEnumerable<(string, byte[])> Flips()
        {
            // Three bits of every header byte: the lowest (digits, letters, braces become their neighbours), bit 5 (case,
            // hexadecimal digits in escapes), and one more that walks through all eight along the header.
            for (int i = 0; i < headerEnd; i++)
                foreach (int bit in new[] { 0, 5, i % 8 }.Distinct())
                    yield return ($"bit {bit} of header byte {i} ('{(char)bytes[i]}')", Flip(bytes, i, bit));
            var random = new Random(5);
            for (int n = 0; n < 1000; n++)
            {
                int i = random.Next((int)headerEnd, bytes.Length), bit = random.Next(8);
                yield return ($"bit {bit} of data byte {i}", Flip(bytes, i, bit));
            }
        }
        var (failures, refused) = Attack(Flips());
        AssertNone(failures);
        Assert.True(refused >= 1000, $"{refused} refused"); // every data flip at least: the content hash sees them
    }

    static byte[] Flip(byte[] bytes, int index, int bit)
    {
        var copy = (byte[])bytes.Clone();
        copy[index] ^= (byte)(1 << bit);
        return copy;
    }

    /// <summary>The file with its header replaced by <paramref name="edit"/>'s JSON (padded to 8 bytes as the format
    /// asks) and the original data.</summary>
    static byte[] WithHeader(byte[] bytes, Func<JsonObject, string> edit)
    {
        int length = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        var header = JsonNode.Parse(Encoding.UTF8.GetString(bytes, 8, length))!.AsObject();
        var json = Encoding.UTF8.GetBytes(edit(header));
        var padded = json.Concat(Enumerable.Repeat((byte)' ', (8 - json.Length % 8) % 8)).ToArray();
        var result = new byte[8 + padded.Length + bytes.Length - 8 - length];
        BinaryPrimitives.WriteUInt64LittleEndian(result, (ulong)padded.Length);
        padded.CopyTo(result, 8);
        bytes.AsSpan(8 + length).CopyTo(result.AsSpan(8 + padded.Length));
        return result;
    }

    /// <summary>Field-by-field edits of the JSON header: every tensor's dtype, shape and offsets made wrong in each way,
    /// names swapped, renamed and dropped, the metadata edited, the header's own length and kind wrong.</summary>
    static IEnumerable<(string Name, Func<JsonObject, string> Edit)> JsonEdits(byte[] bytes)
    {
        int length = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        var names = JsonNode.Parse(Encoding.UTF8.GetString(bytes, 8, length))!.AsObject().Select(p => p.Key).Where(k => k != "__metadata__").ToList();
        Func<JsonObject, string> Set(string tensor, string field, JsonNode? value) => h => { h[tensor]![field] = value?.DeepClone(); return h.ToJsonString(); };
        JsonNode?[] wrongValues = [null, "F32", 2.5, -1, 0, 1L << 40, new JsonArray(), new JsonObject(), true];
        foreach (var t in names.Take(4).Concat(names.Skip(names.Count - 2)))
        {
            foreach (var (i, value) in wrongValues.Index())
            {
                yield return ($"{t}.dtype = value {i}", Set(t, "dtype", value?.DeepClone()));
                yield return ($"{t}.shape = value {i}", Set(t, "shape", value?.DeepClone()));
                yield return ($"{t}.data_offsets = value {i}", Set(t, "data_offsets", value?.DeepClone()));
            }
            yield return ($"{t}.dtype = F16", Set(t, "dtype", "F16"));
            yield return ($"{t}.dtype = f32", Set(t, "dtype", "f32"));
            foreach (var shape in new[] { "[]", "[0]", "[-1,-4]", "[2147483648]", "[65536,65536,65536]", "[1.5]", "[\"5\"]", "[null]" })
                yield return ($"{t}.shape = {shape}", Set(t, "shape", JsonNode.Parse(shape)));
            yield return ($"{t}.shape transposed", h => { var s = h[t]!["shape"]!.AsArray().Reverse().Select(n => n!.DeepClone()).ToArray(); h[t]!["shape"] = new JsonArray(s); return h.ToJsonString(); });
            foreach (var delta in new[] { -8L, -4, 4, 8, 1L << 33 })
            {
                yield return ($"{t}.data_offsets[0] {delta:+#;-#}", h => { var o = h[t]!["data_offsets"]!.AsArray(); o[0] = o[0]!.GetValue<long>() + delta; return h.ToJsonString(); });
                yield return ($"{t}.data_offsets both {delta:+#;-#}", h => { var o = h[t]!["data_offsets"]!.AsArray(); o[0] = o[0]!.GetValue<long>() + delta; o[1] = o[1]!.GetValue<long>() + delta; return h.ToJsonString(); });
            }
            yield return ($"{t}.data_offsets with a third entry", h => { h[t]!["data_offsets"]!.AsArray().Add(0); return h.ToJsonString(); });
            yield return ($"{t} dropped", h => { h.Remove(t); return h.ToJsonString(); });
            yield return ($"{t} renamed", h => { var n = h[t]!.DeepClone(); h.Remove(t); h[t + "x"] = n; return h.ToJsonString(); });
            yield return ($"{t} is a number", h => { h[t] = 3; return h.ToJsonString(); });
            yield return ($"{t} twice", h => h.ToJsonString()[..^1] + $",\"{t}\":{h[t]!.ToJsonString()}}}");
        }
        for (int i = 0; i + 1 < names.Count; i++)
        {
            string a = names[i], b = names[i + 1];
            yield return ($"{a} and {b} swap offsets", h => { var o = h[a]!["data_offsets"]!.DeepClone(); h[a]!["data_offsets"] = h[b]!["data_offsets"]!.DeepClone(); h[b]!["data_offsets"] = o; return h.ToJsonString(); });
            yield return ($"{a} and {b} swap names", h => { var na = h[a]!.DeepClone(); h[a] = h[b]!.DeepClone(); h[b] = na; return h.ToJsonString(); });
        }
        foreach (var key in new[] { "model", "latent", "epoch", "seed", "note", SafeTensors.ContentHashKey })
        {
            yield return ($"metadata {key} dropped", h => { h["__metadata__"]!.AsObject().Remove(key); return h.ToJsonString(); });
            yield return ($"metadata {key} = 7", h => { h["__metadata__"]![key] = 7; return h.ToJsonString(); });
            yield return ($"metadata {key} = null", h => { h["__metadata__"]![key] = null; return h.ToJsonString(); });
            yield return ($"metadata {key} edited", h => { h["__metadata__"]![key] = (h["__metadata__"]![key]?.GetValue<string>() ?? "") + "0"; return h.ToJsonString(); });
        }
        yield return ("metadata key added", h => { h["__metadata__"]!["extra"] = "1"; return h.ToJsonString(); });
        yield return ("metadata is a list", h => { h["__metadata__"] = new JsonArray(); return h.ToJsonString(); });
        yield return ("header is a list", _ => "[]");
        yield return ("header is a string", _ => "\"x\"");
        yield return ("header is null", _ => "null");
        yield return ("header is empty", _ => "");
        yield return ("header is not UTF-8", _ => "{\"\udc00\":1}");
        yield return ("header cut inside", h => h.ToJsonString()[..^3]);
    }

    /// <summary>Every edit twice: as it is (the content hash no longer matches) and with the content hash taken out
    /// (as a file from another tool, or an edit that also deleted the hash), so the structural checks are attacked too.</summary>
    [Fact]
    public void JsonEditsLoadTheSameOrAreRefused()
    {
        var bytes = Original().Bytes;
        var edits = JsonEdits(bytes).ToList();
        IEnumerable<(string, byte[])> Mutants()
        {
            foreach (var (name, edit) in edits) yield return (name, WithHeader(bytes, edit));
            int length = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
            foreach (long delta in new long[] { -9, -8, -1, 1, 8, 9, 1L << 31, 1L << 40, -(long)length - 1 })
            {
                var copy = (byte[])bytes.Clone();
                BinaryPrimitives.WriteUInt64LittleEndian(copy, (ulong)(length + delta));
                yield return ($"header length {delta:+#;-#}", copy);
            }
            yield return ("data appended", [.. bytes, 0, 0, 0, 0]);
        }
        var (failures, refused) = Attack(Mutants());
        var unhashed = edits.Select(e => (e.Name + " (no hash)",
            WithHeader(bytes, h => { h["__metadata__"]!.AsObject().Remove(SafeTensors.ContentHashKey); return e.Edit(h); })));
        var (unverifiedFailures, unverifiedRefused) = Attack(unhashed, unverified: true);
        AssertNone([.. failures, .. unverifiedFailures]);
        Assert.True(edits.Count > 150, $"{edits.Count} edits");
        Assert.True(refused >= edits.Count - 12, $"{refused} of {edits.Count} refused"); // all but the edits that leave the content as it was
        Assert.True(unverifiedRefused > edits.Count / 2, $"{unverifiedRefused} of {edits.Count} refused without the hash");
    }

    /// <summary>The metadata a model is rebuilt from (kind, widths, β, the VAE's warm-up and seed), edited in a real
    /// AE's and VAE's checkpoint without the content hash: each loads the same model or is refused in one line.</summary>
    [Theory]
    [InlineData("ae")]
    [InlineData("vae")]
    public void MetadataEditsRebuildTheSameModelOrAreRefused(string kind)
    {
        var be = Backend;
        var spec = new ModelSpec(kind, Latent: 2);
        var model = Models.Create(be, spec, 4, 1);
        model.Initialise(3);
        string path = Path.Combine(Folder, "model.safetensors");
        var saved = new Dictionary<string, string> { ["seed"] = "5", ["warmup_steps"] = "0" };
        Checkpoint.Save(path, be, model, saved);
        var original = SafeTensors.Read(path);
        var values = be.Down(model.Parameters.Values);
        var failures = new List<string>();
        string[] wrong = ["", "-1", "0", "1", "3", "785", "2147483648", "99999999999999999999", "2.5", "NaN", "-Infinity", "1e9", "abc", " 2", "linear", "relu", "conv-ae", "vae", "classifier"];
        foreach (var key in original.Metadata.Keys.Where(k => k != SafeTensors.ContentHashKey))
            foreach (var value in wrong.Append(null))
            {
                var metadata = new Dictionary<string, string>(original.Metadata);
                metadata.Remove(SafeTensors.ContentHashKey);
                if (value is null) metadata.Remove(key); else metadata[key] = value;
                var contents = new SafeTensors.Contents(original.Tensors, metadata);
                try
                {
                    var (loaded, _) = Models.Load(be, contents, path, 4);
                    if (loaded.Kind.Name != kind || !be.Down(loaded.Parameters.Values).SequenceEqual(values))
                        failures.Add($"{key} = '{value}': loaded a {loaded.Kind} with other numbers");
                }
                catch (UserError e) when (e.Message.Length > 0 && !e.Message.Contains('\n')) { }
                catch (Exception e) { failures.Add($"{key} = '{value ?? "(removed)"}': {e.GetType().Name}: {e.Message.Split('\n')[0]}"); }
            }
        AssertNone(failures);
    }

    /// <summary>bench/strip-moments.py (the committed checkpoints are stored through it) computes the content hash as the
    /// reader does: its output loads, verified, to the weights without the moments; damaged after it, it is refused.</summary>
    [Fact]
    public void StrippedCheckpointsCarryAHashTheReaderVerifies()
    {
        var (bytes, values, _, _, metadata) = Original();
        string path = Path.Combine(Folder, "stripped.safetensors");
        File.WriteAllBytes(path, bytes);
        var start = new System.Diagnostics.ProcessStartInfo("python3", [Path.Combine(Repository.Root, "bench", "strip-moments.py"), path])
            { RedirectStandardOutput = true, RedirectStandardError = true };
        using (var python = System.Diagnostics.Process.Start(start)!)
        {
            string output = python.StandardOutput.ReadToEnd() + python.StandardError.ReadToEnd();
            python.WaitForExit();
            Assert.True(python.ExitCode == 0, output);
        }
        var stripped = SafeTensors.Read(path);
        Assert.Equal("stripped", stripped.Metadata["moments"]);
        Assert.NotEqual(metadata[SafeTensors.ContentHashKey], stripped.Metadata[SafeTensors.ContentHashKey]);
        Assert.DoesNotContain(stripped.Tensors.Keys, k => k.StartsWith(Checkpoint.FirstMomentPrefix) || k.StartsWith(Checkpoint.SecondMomentPrefix));
        var model = SmallVae();
        Checkpoint.Load(stripped, path, Backend, model);
        Assert.Equal(values, Backend.Down(model.Parameters.Values));
        var damaged = File.ReadAllBytes(path);
        damaged[^3] ^= 1;
        File.WriteAllBytes(path, damaged);
        Assert.Contains("does not match its content_sha256", Assert.Throws<UserError>(() => SafeTensors.Read(path)).Message);
    }

    /// <summary>A one-epoch run's checkpoint with its metadata edited (without the content hash; a position inside the
    /// epoch added where the edit needs one) and its metrics.csv cut or damaged: --resume continues it or refuses in one
    /// line (an epoch of -1 or 2³¹ once looped for ever; a letter in metrics.csv ended in a FormatException).</summary>
    [Fact]
    public void ResumeFromEditedMetadataOrDamagedMetricsContinuesOrIsRefused()
    {
        var be = Backend;
        var train = RealData.Train.Take(256);
        var test = RealData.Test.Take(64);
        string run = Path.Combine(Folder, "run");
        TrainingSession.Run(be, new ModelSpec("vae"), new TrainOptions(1, 64, 1e-3f, 5), train, test, run, new LineReporter(TextWriter.Null), default);
        string path = Path.Combine(run, Checkpoint.FileName), metrics = Path.Combine(run, "metrics.csv");
        var checkpoint = File.ReadAllBytes(path);
        var csv = File.ReadAllText(metrics);
        var original = SafeTensors.Read(path);
        var failures = new List<string>();
        void Try(string name)
        {
            try { TrainingSession.Resume(be, run, 1, train, test, new LineReporter(TextWriter.Null), default); }
            catch (UserError e) when (e.Message.Length > 0 && !e.Message.Contains('\n')) { }
            catch (Exception e) { failures.Add($"{name}: {e.GetType().Name}: {e.Message.Split('\n')[0]}"); }
            File.WriteAllBytes(path, checkpoint);
            File.WriteAllText(metrics, csv);
        }
        string[] wrong = ["", "-1", "2147483648", "2.5", "abc"];
        foreach (var key in original.Metadata.Keys.Where(k => k != SafeTensors.ContentHashKey).Append("next_row").Append("loss_sum").Append("sums"))
            foreach (var value in wrong.Append(null))
            {
                var metadata = new Dictionary<string, string>(original.Metadata);
                metadata.Remove(SafeTensors.ContentHashKey);
                if (value is null) metadata.Remove(key); else metadata[key] = value;
                if (key is "loss_sum" or "sums" && value is not null) metadata.TryAdd("next_row", "64");
                SafeTensors.Write(path, original.Tensors.Select(t => (t.Key, t.Value.Shape, t.Value.Data)), metadata);
                Try($"{key} = '{value ?? "(removed)"}'");
            }
        var lines = csv.Split('\n');
        foreach (var n in Enumerable.Range(0, csv.Length).Where(n => n % 13 == 0))
        {
            File.WriteAllText(metrics, csv[..n]);
            Try($"metrics.csv cut to {n} characters");
        }
        foreach (var (i, c) in new[] { (lines[0].Length + 3, 'x'), (lines[0].Length + 5, ','), (lines[0].Length + 1, '-'), (csv.Length - 2, 'e') })
        {
            File.WriteAllText(metrics, csv[..i] + c + csv[(i + 1)..]);
            Try($"metrics.csv character {i} = '{c}'");
        }
        AssertNone(failures);
    }
}
