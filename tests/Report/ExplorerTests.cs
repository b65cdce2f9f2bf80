using System.Text.RegularExpressions;
using GpuAe.Nets.Data;
using GpuAe.Nets.Report;
using GpuAe.Tests.Nets;
using Xunit;

namespace GpuAe.Tests.Report;

/// <summary>The latent explorer page without a browser: its decoder numbers are the checkpoints', its pictures and labels
/// the test set's, it is self-contained and under 3 MB, and the committed reports/explorer.html is what the code writes
/// from the committed runs. (ExplorerBrowserTests runs it.)</summary>
public class ExplorerTests
{
    public static TheoryData<string> Pages => ["committed", "fresh"];
    static string Page(string which) => which == "committed" ? File.ReadAllText(ExplorerPage.Committed) : ExplorerPage.Fresh;

    [Theory]
    [MemberData(nameof(Pages))]
    public void PageDecodersAreTheCheckpointsFloatForFloat(string which)
    {
        var page = ExplorerPage.Read(Page(which));
        Assert.Equal(ExplorerPage.Runs, page.Planes.Select(p => p.Run));
        Assert.Equal(["vae", "ae"], page.Planes.Select(p => p.Key));
        Assert.Equal([true, false], page.Planes.Select(p => p.Prior));
        foreach (var plane in page.Planes)
        {
            var expected = ExplorerPage.CheckpointDecoder(plane.Run);
            Assert.Equal(2 * 256 + 256 + 784 * 256 + 784, expected.Length); // 202,256
            // Exact: the page holds the checkpoint's float32 bits (compared as integers, so −0 and NaN would count too).
            Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), plane.Decoder.Select(BitConverter.SingleToInt32Bits));
        }
    }

    [Fact]
    public void PicturesAndLabelsAreTheTestSets()
    {
        var page = ExplorerPage.Read(File.ReadAllText(ExplorerPage.Committed));
        var test = RealData.Test;
        Assert.Equal(FashionMnist.ClassNames, page.Classes);
        Assert.Equal(test.Labels, page.Labels);
        // The first 100 test images of each class, in test-set order, with their exact bytes.
        Assert.Equal(1000, page.Pictures.Length);
        var taken = new int[10];
        Assert.Equal(Enumerable.Range(0, test.Count).Where(i => taken[test.Labels[i]]++ < 100), page.Pictures);
        var expected = page.Pictures.SelectMany(i => test.Pixels.AsSpan(i * 784, 784).ToArray().Select(v => (byte)Math.Round(v * 255))).ToArray();
        Assert.Equal(expected, page.PicturePixels);
        Assert.All(page.Planes, p => Assert.Equal(2 * test.Count, p.Codes.Length));
    }

    /// <summary>Everything but the latents must be identical; the latents are the encoders' outputs on this machine,
    /// whose sums may run in another order on another SIMD width: 1e-4 relative is far below a screen pixel (the
    /// planes span about 8 and 180 units over 380 pixels) and far above float32 reordering error (~1e-6).</summary>
    [Fact]
    public void CommittedPageIsWhatTheCodeWritesFromTheCommittedRuns()
    {
        var committed = ExplorerPage.Read(File.ReadAllText(ExplorerPage.Committed));
        var fresh = ExplorerPage.Read(ExplorerPage.Fresh);
        Assert.True(fresh.Template == committed.Template,
            "reports/explorer.html differs from what src/Nets/Report/Explorer.html writes: rewrite it with `gpuae report --out reports --from-runs reports/runs/*`");
        Assert.Equal(fresh.Labels, committed.Labels);
        Assert.Equal(fresh.Pictures, committed.Pictures);
        Assert.Equal(fresh.PicturePixels, committed.PicturePixels);
        for (int p = 0; p < fresh.Planes.Length; p++)
        {
            Assert.Equal((fresh.Planes[p].Key, fresh.Planes[p].Run, fresh.Planes[p].Prior), (committed.Planes[p].Key, committed.Planes[p].Run, committed.Planes[p].Prior));
            Assert.Equal(fresh.Planes[p].Decoder, committed.Planes[p].Decoder);
            Values.AssertClose(fresh.Planes[p].Codes, committed.Planes[p].Codes, 1e-4, $"{fresh.Planes[p].Run} latents");
        }
    }

    /// <summary>The issue's budget is 3 MB for the two 2-D models; nothing in the page may load anything from elsewhere.</summary>
    [Fact]
    public void CommittedPageIsSelfContainedAndAtMostThreeMegabytes()
    {
        long size = new FileInfo(ExplorerPage.Committed).Length;
        Assert.True(size <= 3_000_000, $"reports/explorer.html is {size:N0} bytes, over 3,000,000");
        string html = File.ReadAllText(ExplorerPage.Committed);
        Assert.DoesNotMatch(new Regex(@"\b(src|href|action|poster)\s*=\s*(?![""']?data:)", RegexOptions.IgnoreCase), html);
        Assert.DoesNotMatch(new Regex(@"https?://|url\(|@import|fetch\(|XMLHttpRequest|WebSocket|EventSource|import\(|\bWorker\(", RegexOptions.IgnoreCase), html);
    }
}
