import QRCode from "qrcode";
import { useEffect, useState } from "react";

/**
 * `text` as a QR code, an SVG made here in the browser and shown as an image's data URL (never
 * put into the page as markup). Undefined until it is made, or while `text` is null.
 */
export function useQrImage(text: string | null): string | undefined {
  const [qr, setQr] = useState<{ text: string; url: string }>();
  useEffect(() => {
    if (text === null) return;
    let live = true;
    QRCode.toString(text, { type: "svg", margin: 1, errorCorrectionLevel: "M" }).then((svg) => {
      if (live) setQr({ text, url: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}` });
    });
    return () => {
      live = false;
    };
  }, [text]);
  return qr && qr.text === text ? qr.url : undefined;
}
