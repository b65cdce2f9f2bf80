using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using GpuAe.Kernels;
using GpuAe.Nets.Report;
using SkiaSharp;
using Xunit;

namespace GpuAe.Tests.Report;

/// <summary>The LaTeX writer's escaping and inline Markdown, each against the LaTeX written out by hand.</summary>
public class LatexTests
{
    [Theory]
    [InlineData("a_b%c&d#e$f", "a\\_b\\%c\\&d\\#e\\$f")]
    [InlineData("{x}~^\\", "\\{x\\}\\ensuremath{\\sim}\\textasciicircum{}\\textbackslash{}")]
    [InlineData("q(z|x) <> ", "q(z\\textbar{}x) \\textless{}\\textgreater{} ")]
    [InlineData("10⁻³ and log₁₀ and σ²", "10\\ensuremath{^{-3}} and log\\ensuremath{_{10}} and \\ensuremath{\\sigma}\\ensuremath{^{2}}")]
    [InlineData("Fréchet − ±", "Fréchet \\ensuremath{-} \\ensuremath{\\pm}")]
    public void EscapeWritesTheCharactersTexReservesAndTheMaths(string text, string latex) => Assert.Equal(latex, Latex.Escape(text));

    [Fact]
    public void InlineMarkdownBecomesLatex()
    {
        Assert.Equal("\\textbf{AE}: see \\texttt{-{}-{}out a\\_b\\textasciitilde{}} and \\href{explorer.html}{the \\textbf{page}}",
            Latex.Inline("**AE**: see `--out a_b~` and [the **page**](explorer.html)"));
        Assert.Equal("``The AE'' and ``the VAE''", Latex.Inline("\"The AE\" and \"the VAE\""));
    }

    /// <summary>Every character the report's code writes has a LaTeX form (a character without one stops the writer with
    /// its name rather than pdflatex with a cryptic error); a character it does not know is refused.</summary>
    [Fact]
    public void EveryCharacterOfTheReportsCodeHasALatexForm()
    {
        var sources = Directory.GetFiles(Path.Combine(Repository.Root, "src", "Nets"), "*.cs", SearchOption.AllDirectories);
        var characters = sources.SelectMany(File.ReadAllText).Where(c => c > 127).Distinct().ToArray();
        Assert.Contains('μ', characters);
        foreach (char c in characters) Latex.Escape(c.ToString());
        Assert.Throws<InvalidOperationException>(() => Latex.Escape("☃"));
    }
}

/// <summary>report.pdf and slides.pdf as a reader gets them, checked from the outside with poppler's tools
/// (pdfinfo, pdftotext, pdfimages) and the LaTeX logs.</summary>
public static class PdfChecks
{
    public static string Tool(string name, params string[] args)
    {
        var start = new ProcessStartInfo(name, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        Process process;
        try { process = Process.Start(start)!; }
        catch (System.ComponentModel.Win32Exception) { throw new Xunit.Sdk.XunitException($"{name} is not installed: run ./setup.sh (poppler-utils)"); }
        using (process)
        {
            string output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            Assert.True(process.ExitCode == 0, $"{name} {string.Join(' ', args)} failed: {process.StandardError.ReadToEnd()}");
            return output;
        }
    }

    public static int Pages(string pdf) => int.Parse(Regex.Match(Tool("pdfinfo", pdf), @"Pages:\s+(\d+)").Groups[1].Value, CultureInfo.InvariantCulture);

    /// <summary>The page size in points.</summary>
    public static (double Width, double Height) PageSize(string pdf)
    {
        var m = Regex.Match(Tool("pdfinfo", pdf), @"Page size:\s+([\d.]+) x ([\d.]+) pts");
        return (double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
    }

    /// <summary>Each image embedded in the PDF, as (width, height) in pixels (pdfimages -list's "image" rows; an alpha
    /// channel's soft mask is listed apart).</summary>
    public static List<(int Width, int Height)> Images(string pdf) =>
        [.. Tool("pdfimages", "-list", pdf).Split('\n').Skip(2).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(c => c.Length > 4 && c[2] == "image").Select(c => (int.Parse(c[3], CultureInfo.InvariantCulture), int.Parse(c[4], CultureInfo.InvariantCulture)))];

    /// <summary>The figures a .tex file includes, and each one's pixel size, all of them embedded at that size.</summary>
    public static void FiguresEmbeddedAtTheirPixelSize(string folder, string name)
    {
        var included = Regex.Matches(File.ReadAllText(Path.Combine(folder, name + ".tex")), @"\\includegraphics(?:\[[^\]]*\])?\{([^}]+)\}")
            .Select(m => m.Groups[1].Value).ToList();
        Assert.NotEmpty(included);
        var embedded = Images(Path.Combine(folder, name + ".pdf"));
        foreach (var png in included)
        {
            using var bitmap = SKBitmap.Decode(Path.Combine(folder, png));
            Assert.True(embedded.Remove((bitmap.Width, bitmap.Height)), $"{name}.pdf does not embed {png} at its {bitmap.Width}×{bitmap.Height} pixels");
        }
    }

    /// <summary>pdflatex's log: no error, no undefined reference, no overfull box wider than 5 pt.</summary>
    public static void CleanLog(string log)
    {
        var text = File.ReadAllText(log);
        Assert.DoesNotMatch(@"(?m)^!", text);
        Assert.DoesNotContain("undefined on input line", text);
        Assert.DoesNotContain("There were undefined references", text);
        foreach (Match m in Regex.Matches(text, @"Overfull \\[hv]box \(([\d.]+)pt too (?:wide|high)\)[^\n]*"))
            Assert.True(double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) <= 5, $"{Path.GetFileName(log)}: {m.Value}");
    }

    /// <summary>A cell of the digest tables as metrics.json's summary gives it: "455.61 ± 5.23" (a share as "70.0 ± 0.5 %").</summary>
    public static string Cell(JsonElement configuration, Metric metric)
    {
        var stat = configuration.GetProperty(metric.Column);
        double scale = metric.Percent ? 100 : 1, mean = stat.GetProperty("mean").GetDouble() * scale;
        var sd = stat.GetProperty("sd");
        string F(double v) => v.ToString(metric.Format, CultureInfo.InvariantCulture);
        return (sd.ValueKind == JsonValueKind.Null ? F(mean) : $"{F(mean)} ± {F(sd.GetDouble() * scale)}") + (metric.Percent ? " %" : "");
    }

    /// <summary>Where pdflatex is not installed the tests cannot say anything about the PDFs: they fail and say why.</summary>
    public static void RequirePdflatex() =>
        Assert.True(Latex.FindPdflatex() is not null, $"pdflatex is not installed: run ./setup.sh ({Latex.Install})");
}
