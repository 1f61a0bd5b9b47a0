// DingTalk-shaped robot messages of every documented type, for `dtbridge simulate`, demos and tests.

const TYPES = ["text", "richText", "picture", "audio", "video", "file", "unknownMsgType"] as const;
export type SampleType = (typeof TYPES)[number];

export interface SampleOptions {
  msgId?: string;
  msgtype?: SampleType;
  conversationId?: string;
  group?: boolean;
  text?: string;
  createAt?: number;
}

let counter = 0;

export function sampleMsgId(): string {
  // Real msgIds are base64 and contain + / =; so do these, to keep encoders honest.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `msg${btoa(String.fromCharCode(...bytes))}`;
}

/** The robot code sample messages carry: a fake DingTalk that should take their replies knows it. */
export const SAMPLE_ROBOT_CODE = "dingrobotsample";

/** One robot callback body; `index` picks the message type round-robin when none is named. */
export function sampleRobotMessage(options: SampleOptions = {}, index = counter++): Record<string, unknown> {
  const msgtype = options.msgtype ?? TYPES[index % TYPES.length]!;
  const createAt = options.createAt ?? Date.now();
  const group = options.group ?? index % 2 === 1;
  const conversationId = options.conversationId ?? (group ? "cidGroupSample+/=" : `cidSingle${index % 5}==`);
  const base: Record<string, unknown> = {
    msgId: options.msgId ?? sampleMsgId(),
    msgtype,
    createAt,
    conversationType: group ? "2" : "1",
    conversationId,
    ...(group ? { conversationTitle: "Bridge test group", isInAtList: true } : {}),
    senderId: "$:LWCP_v1:$senderSample",
    senderNick: "测试用户 🚀",
    senderStaffId: "staff001",
    senderCorpId: "dingcorpSample",
    chatbotUserId: "$:LWCP_v1:$robotSample",
    chatbotCorpId: "dingcorpSample",
    robotCode: SAMPLE_ROBOT_CODE,
    isAdmin: false,
    sessionWebhook: "https://oapi.dingtalk.com/robot/sendBySession?session=sample",
    sessionWebhookExpiredTime: createAt + 90 * 60_000,
    atUsers: [{ dingtalkId: "$:LWCP_v1:$robotSample" }],
  };
  switch (msgtype) {
    case "text":
      return { ...base, text: { content: ` ${options.text ?? `hello #${index}`}` } };
    case "richText":
      return {
        ...base,
        content: { richText: [{ text: options.text ?? "rich" }, { pictureDownloadCode: "pdc1", downloadCode: "dc1", type: "picture" }] },
      };
    case "picture":
      return { ...base, content: { pictureDownloadCode: "pdc2", downloadCode: "dc2" } };
    case "audio":
      return { ...base, content: { downloadCode: "dc3", recognition: "语音识别", duration: "4000" } };
    case "video":
      return { ...base, content: { downloadCode: "dc4", duration: 12, videoType: "mp4" } };
    case "file":
      return { ...base, content: { downloadCode: "dc5", fileName: "report.pdf", spaceId: "1", fileId: "f1" } };
    case "unknownMsgType":
      return { ...base, content: { unknownMsgType: "someFutureType" } };
  }
}
